#!/usr/bin/env python3
"""Writes a CSV of person records for the aggregation benchmark (docs/benchmarks.md).

Columns: id_no (citizen ID, GB 11643 check character), person_name, mobile, address,
record_date. About 5% of the rows are invalid in one of four ways: a wrong check character,
an empty name, a malformed mobile number, or an impossible date. Seeded, so the same
arguments give the same file.

    python3 bench/gen_people.py --rows 10000000 --out /tmp/people_10m.csv
"""
import argparse
import random

WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
CHECK = "10X98765432"
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高郑梁谢宋唐许韩冯邓曹"
GIVEN = ["伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明",
         "超", "秀英", "华", "平", "刚", "桂英", "文", "辉", "鑫", "宇", "欣", "怡", "浩", "晨"]
STREETS = ["人民路", "解放路", "建设路", "中山路", "滨江路", "湖东路", "西山大道", "南港路", "北岭街", "文化路"]
AREAS = [("359902", "东湖区"), ("359903", "西山区"), ("359904", "南港区"), ("359921", "北岭县")]


def citizen_id(prefix17: str) -> str:
    s = sum(int(c) * w for c, w in zip(prefix17, WEIGHTS))
    return prefix17 + CHECK[s % 11]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--invalid", type=float, default=0.05)
    args = ap.parse_args()
    rng = random.Random(20261122)
    with open(args.out, "w", encoding="utf-8", newline="") as f:
        f.write("id_no,person_name,mobile,address,record_date\n")
        buf = []
        for i in range(args.rows):
            area, district = AREAS[i % 4]
            # Unique IDs: the row number spread over birth dates and sequence numbers.
            n = i // 4
            day = n // 1000
            year = 1940 + (day // 336) % 72
            month = (day // 28) % 12 + 1
            dom = day % 28 + 1
            pid = citizen_id(f"{area}{year:04d}{month:02d}{dom:02d}{n % 1000:03d}")
            name = SURNAMES[rng.randrange(len(SURNAMES))] + GIVEN[rng.randrange(len(GIVEN))]
            mobile = f"1{rng.randrange(3, 10)}{rng.randrange(10**9):09d}"
            address = f"临江市{district}{STREETS[rng.randrange(len(STREETS))]}{rng.randrange(1, 400)}号"
            date = f"{rng.randrange(2015, 2027)}-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}"
            if rng.random() < args.invalid:
                kind = rng.randrange(4)
                if kind == 0:
                    pid = pid[:-1] + ("1" if pid[-1] != "1" else "2")
                elif kind == 1:
                    name = ""
                elif kind == 2:
                    mobile = "0" + mobile[:6]
                else:
                    date = "2024-02-30"
            buf.append(f"{pid},{name},{mobile},{address},{date}\n")
            if len(buf) >= 100_000:
                f.write("".join(buf))
                buf.clear()
        f.write("".join(buf))


if __name__ == "__main__":
    main()
