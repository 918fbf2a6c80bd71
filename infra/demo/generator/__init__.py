"""A deterministic generator of a realistic district, for the demo and the benchmarks.

    plan = build("demo", seed=1)      # the tree, members (directory rows), organisers
    for stream_id, expected_version, events in streams(plan): ...

`"demo"` is one street with two communities, one of them 兴华南里 as the sources describe
it (605 in-service members reported; in October 2026, 9 activities with 723 person-times).
`"district"` is 新罗区: 10 streets, 55 communities, 547 compound branches, 16,000 in-service
members and three years of activities: more than a million events.
"""

from infra.demo.generator.history import streams
from infra.demo.generator.plan import DEMO_PASSWORD, DEMO_PIN, Member, Organiser, Plan, Unit, build

__all__ = ["DEMO_PASSWORD", "DEMO_PIN", "Member", "Organiser", "Plan", "Unit", "build",
           "streams"]
