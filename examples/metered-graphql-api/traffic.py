"""Send a burst of calls to the example API, then show what Tallyboard counted.

    python traffic.py [--api http://127.0.0.1:8080] [--calls 200]
        [--tallyboard http://127.0.0.1:8000 --token <a Tallyboard access token>]

With ``--token`` (the demo prints Ada's), it asks Tallyboard's ``apiUsageStats`` for Acme
Corp's calls by operation and by token this month, after the meter's next flush.
"""

from __future__ import annotations

import argparse
import random
import time
from collections import Counter

import httpx

ACME = "8a1c4f10-1111-4d2c-9c2a-abc123def456"
DOCUMENTS = {
    "GetCards": ("query GetCards { cards { id title done } }", {}),
    "GetCard": ("query GetCard($id: ID!) { card(id: $id) { title } }", {"id": "1"}),
    "CreateCards": (
        "mutation CreateCards($titles: [String!]!) { createCards(titles: $titles) { id } }",
        {"titles": ["Write the docs", "Ship it"]},
    ),
    "CompleteCard": (
        "mutation CompleteCard($id: ID!) { completeCard(id: $id) { done } }",
        {"id": "1"},
    ),
}
STATS = """
query Usage($org: ID!, $dimension: GroupedAPIDimension) {
  apiUsageStats(organizationUuid: $org, period: current_month, dimension: $dimension) {
    data { dimension metric }
  }
}
"""


def send(api: str, calls: int) -> Counter[tuple[str, str]]:
    sent: Counter[tuple[str, str]] = Counter()
    rnd = random.Random()
    with httpx.Client(base_url=api, timeout=10) as http:
        for _ in range(calls):
            key = rnd.choice(["acme-mobile", "acme-backoffice", "globex-sync"])
            operation = rnd.choice(list(DOCUMENTS))
            query, variables = DOCUMENTS[operation]
            response = http.post(
                "/graphql",
                json={"query": query, "variables": variables, "operationName": operation},
                headers={"Authorization": f"Bearer {key}"},
            )
            response.raise_for_status()
            sent[(key, operation)] += 1
    return sent


def show(tallyboard: str, token: str) -> None:
    with httpx.Client(base_url=tallyboard, timeout=10) as http:
        for dimension in ("operation_name", "token"):
            answer = http.post(
                "/graphql",
                json={"query": STATS, "variables": {"org": ACME, "dimension": dimension}},
                headers={"Authorization": f"Bearer {token}"},
            ).json()
            print(f"Acme Corp this month, by {dimension}:")
            for item in answer["data"]["apiUsageStats"]["data"]:
                print(f"  {item['metric']:>10,}  {item['dimension']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--api", default="http://127.0.0.1:8080")
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--tallyboard", default="http://127.0.0.1:8000")
    parser.add_argument("--token", help="a Tallyboard access token to read the statistics")
    args = parser.parse_args()
    sent = send(args.api, args.calls)
    for (key, operation), calls in sorted(sent.items()):
        print(f"sent {calls:>4} x {operation:<13} as {key}")
    if args.token:
        time.sleep(2)  # the meter flushes every second
        show(args.tallyboard, args.token)


if __name__ == "__main__":
    main()
