"""The published contract between the ledger and its readers (the reports service, other
community systems): the event schemas, the feed cursor, the Shanghai calendar and the shared
vocabularies. Both services import this package; reports imports nothing else of the ledger.
"""
