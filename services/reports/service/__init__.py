"""The projection runner and the rebuild: they drive the pure projections through the adapters."""
