"""Demo data, a development tool kept out of the shipped services: a deterministic
generator of a district (`generator`), the loader that puts it into a tenant (`load`), and
its command line, `python -m infra.demo` (what `make run` and `make demo-district` use).
"""
