"""The demo: render one instance of every task in the unified format, parse the answer back.

Reads the hand-written instances in tests/fixtures/unified_format.json, turns each into a record
(mnlu.tasks), prints the user turn, the assistant answer and the gold, and checks that parsing the
answer (mnlu.parse) gives the gold back. Later stages of the pipeline extend this demo.
"""

import json
import sys
from pathlib import Path

from mnlu.parse import parse_answer
from mnlu.records import check_record
from mnlu.tasks import make_record

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "unified_format.json"


def main():
    failures = 0
    for instance in json.loads(FIXTURES.read_text()):
        record = check_record(make_record(instance["task"], **instance["fields"]))
        user, answer = (m["content"] for m in record["messages"])
        parsed = parse_answer(record, answer)
        print(f"=== {record['task']}  ({record['dataset']} / {record['id']}) " + "=" * 30)
        print("[user]\n" + user)
        print("[assistant]\n" + answer)
        print("[gold] " + json.dumps(record["gold"], ensure_ascii=False))
        print("[parsed back] " + json.dumps(parsed, ensure_ascii=False) + "\n")
        failures += parsed["unparseable"]
    if failures:
        sys.exit(f"{failures} rendered answers did not parse back")


if __name__ == "__main__":
    main()
