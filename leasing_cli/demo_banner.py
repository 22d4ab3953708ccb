"""Print the demo API key and a ready-to-paste curl (`make dev`): the one place a key is printed."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from leasing_cli.seed import SeedError, load_seed


def banner(seed_path: str, port: int) -> str:
    seed = load_seed(seed_path)
    if not seed.orgs or not seed.orgs[0].api_keys:
        return f"{seed_path} has no API key for the first org; create one with `leasing admin key create`."
    org = seed.orgs[0]
    key = org.api_keys[0].key.get_secret_value()
    url = f"http://127.0.0.1:{port}/v1/leased-accounts"
    return "\n".join(
        [
            f"API key of the demo organization {org.id} (from {seed_path}; test data, local only):",
            "",
            f"  {key}",
            "",
            "Try:",
            "",
            f"  curl -s -H 'Authorization: Bearer {key}' {url}",
            "",
            f"Reference (Authorize with the key above, then Try it out): http://127.0.0.1:{port}/docs",
            "",
        ]
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("seed", help="seed file")
    parser.add_argument("--port", type=int, default=3000)
    args = parser.parse_args(argv)
    try:
        print(banner(args.seed, args.port), flush=True)
    except SeedError as error:
        print(error, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
