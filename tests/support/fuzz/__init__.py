"""The fuzz harness (tests/e2e/test_fuzz.py): a real server, request strategies, checks.

- ``server``: a real ``tallyboard serve`` process and the tenancy it is seeded with;
- ``checks``: what no answer may contain (leak patterns, defined once), the documented
  shapes, and the recorder that collects every distinct failure of a run;
- ``graphql_cases``, ``ingest_cases``, ``access_cases``: hypothesis strategies of
  requests, valid and hostile, for each endpoint.
"""
