"""Sets up the sharing benchmark on a running `pdp serve --demo` (bench/share_wrk.sh).

As the demo accounts: the market regulator's officer publishes a person dataset and loads the
CSV given; the reviewer approves the entry; 西山区's officer requests it in verify mode and in
view mode; the provider's approver approves both; the requester makes an API key. Prints JSON
with the token, both grant ids and a key and name that exist, for wrk to use.

    python3 bench/share_setup.py URL SERVER_STDOUT PEOPLE_CSV
"""

import datetime
import os
import json
import re
import subprocess
import sys
import time

import requests


def passwords(stdout_file):
    out = {}
    for line in open(stdout_file, encoding="utf-8"):
        m = re.match(r"^  (\S+)\s+(\S+)  ", line)
        if m:
            out[m.group(1)] = m.group(2)
    return out


def login(base, user, password):
    s = requests.Session()
    r = s.post(f"{base}/login", data={"username": user, "password": password, "next": "/"})
    r.raise_for_status()
    home = s.get(f"{base}/").text
    m = re.search(r'name="csrf" value="([0-9a-f]{64})"', home)
    if not m:
        raise SystemExit(f"login as {user} failed")
    s.headers["x-csrf-token"] = m.group(1)
    return s


def ok(r):
    if r.status_code >= 400:
        raise SystemExit(f"{r.request.method} {r.url}: {r.status_code} {r.text}")
    return r.json() if r.text else None


ENTRY = {
    "name": "常住人口基本信息（共享基准测试）",
    "summary": "共享基准测试使用的人员信息",
    "class": "base",
    "item": "01",
    "format": "database",
    "frequency": "daily",
    "identifier_field": "id_no",
    "fields": [
        {"name": "id_no", "label": "公民身份号码", "data_type": "text", "grade": "l3", "personal": True,
         "identifier": "citizen_id", "mask": "id_number", "purpose": "唯一识别", "rules": {"key": True}},
        {"name": "person_name", "label": "姓名", "data_type": "text", "grade": "l2", "personal": True,
         "mask": "name", "purpose": "核对身份", "rules": {"required": True, "max_len": 30}},
        {"name": "mobile", "label": "联系电话", "data_type": "text", "grade": "l3", "personal": True,
         "mask": "mobile", "purpose": "联系", "rules": {"pattern": "1[3-9][0-9]{9}"}},
        {"name": "address", "label": "住址", "data_type": "text", "grade": "l3", "personal": True,
         "mask": "address", "purpose": "属地管辖"},
        {"name": "record_date", "label": "登记日期", "data_type": "date", "grade": "l1", "rules": {"required": True}},
    ],
    "share": {"share_type": "conditional", "conditions": "依法履职", "modes": ["view", "verify"],
              "legal_basis": "《临江市公共数据管理办法》第十八条"},
    "open": {"open_type": "not_open", "legal_basis": "涉及个人信息"},
}


def main():
    base, stdout_file, csv = sys.argv[1], sys.argv[2], sys.argv[3]
    pw = passwords(stdout_file)
    officer = login(base, "officer", pw["officer"])
    reviewer = login(base, "reviewer", pw["reviewer"])
    approver = login(base, "approver", pw["approver"])
    xs = login(base, "xs.officer", pw["xs.officer"])
    entry = ok(officer.post(f"{base}/api/v1/catalog/entries", json={"body": ENTRY}))["entry_id"]
    ok(officer.post(f"{base}/api/v1/catalog/entries/{entry}/submit", json={"version": 1}))
    ok(reviewer.post(f"{base}/api/v1/catalog/entries/{entry}/approve", json={"version": 1}))
    pdp = os.environ.get("LOAD_WITH")
    if pdp:
        # Files past the API's body limit are loaded as an operator would: `pdp load` on the
        # server's data directory, which the server sees as a new version.
        code = ok(officer.get(f"{base}/api/v1/catalog/entries/{entry}"))["code"]
        started = time.monotonic()
        out = subprocess.run([pdp, "load", "--dataset", code, "--file", csv, "--as", "officer", "--quiet"],
                             check=True, capture_output=True, text=True).stdout
        seconds = time.monotonic() - started
        accepted = int(re.search(r"(\d+) accepted", out).group(1))
        report = {"accepted": accepted, "load_seconds": round(seconds, 2)}
        print(out.strip().splitlines()[0], file=sys.stderr)
    else:
        with open(csv, "rb") as f:
            report = ok(officer.post(f"{base}/api/v1/datasets/{entry}/loads?format=csv&mode=full", data=f.read()))
    until = (datetime.date.today() + datetime.timedelta(days=90)).isoformat()
    grants = {}
    for mode, fields in [("verify", ["id_no", "person_name"]), ("view", ["id_no", "person_name", "mobile", "address"])]:
        req = ok(xs.post(f"{base}/api/v1/share/requests", json={
            "entry_id": entry, "fields": fields, "mode": mode, "scenario": "基准测试", "legal_basis": "基准测试",
            "purpose": "测量共享接口的吞吐量", "until": until, "pledge": True}))
        grants[mode] = ok(approver.post(f"{base}/api/v1/share/requests/{req['id']}/approve", json={}))["grant_id"]
    token = ok(xs.post(f"{base}/api/v1/api-keys", json={"name": "wrk", "expires_in_days": 1}))["token"]
    # Keys and names that exist: accepted rows spread over the whole file (every `step`-th
    # line), so that lookups touch the whole table rather than one row.
    want = int(os.environ.get("KEYS", "1"))
    step = max(1, int(os.environ.get("ROWS", "100000")) // max(want, 1))
    found = []
    with open(csv, encoding="utf-8") as f:
        next(f)
        for i, line in enumerate(f):
            if i % step:
                continue
            pid, name = line.split(",")[:2]
            view = requests.post(f"{base}/api/v1/share/grants/{grants['view']}/records", json={"key": pid},
                                 headers={"authorization": f"Bearer {token}"}).json()
            if view.get("rows"):
                found.append((pid, name))
                if len(found) == want:
                    break
    pid, name = found[0]
    print(json.dumps({"token": token, "verify": grants["verify"], "view": grants["view"], "key": pid, "name": name,
                      "keys": found, "accepted": report["accepted"], "load_seconds": report.get("load_seconds")},
                     ensure_ascii=False))


if __name__ == "__main__":
    main()
