#!/usr/bin/env python3
"""Drive `dynamo fake` from outside Go, with Python's standard library only.

Usage: fake_client.py PATH_TO_DYNAMO

It starts `dynamo fake`, reads the variables it prints, posts a batch with a
multipart body built here, completes a task through the control API, reads the
statuses, downloads the result file, and checks every answer. It prints one line
per check and a closing "N passed, M failed", and exits non-zero on any failure.
"""

import json
import re
import signal
import subprocess
import sys
import urllib.error
import urllib.request
import uuid

passed = 0
failed = 0

# Dates as the service writes them: Java's Instant.toString, 0, 3, 6 or 9
# fraction digits, as few as the instant needs: never a last group of "000".
INSTANT = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.(\d{3}|\d{6}|\d{9}))?Z$")


def is_instant(s):
    m = INSTANT.match(s or "")
    return bool(m) and not (m.group(1) or "").endswith("000")


def check(name, ok, detail=""):
    global passed, failed
    if ok:
        passed += 1
        print("ok    " + name)
    else:
        failed += 1
        print("FAIL  " + name + (": " + str(detail) if detail != "" else ""))


def request(method, url, body=None, headers=None):
    """Send a request; return (status, headers, body bytes), also for 4xx/5xx."""
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, resp.headers, resp.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def start_fake(tool):
    proc = subprocess.Popen([tool, "fake"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    env = {}
    while "DYNAMO_SF_CLIENT_SECRET" not in env:
        line = proc.stdout.readline()
        if not line:
            raise SystemExit("dynamo fake printed no variables: " + proc.stderr.read())
        key, _, value = line.strip().removeprefix("export ").partition("=")
        env[key] = value
    return proc, env


def multipart(parts):
    """Encode parts [(name, filename or None, content type, bytes)] as multipart/form-data."""
    boundary = "py-" + uuid.uuid4().hex
    out = bytearray()
    for name, filename, ctype, data in parts:
        out += b"--" + boundary.encode() + b"\r\n"
        disposition = 'form-data; name="%s"' % name
        if filename:
            disposition += '; filename="%s"' % filename
        out += ("Content-Disposition: %s\r\nContent-Type: %s\r\n\r\n" % (disposition, ctype)).encode()
        out += data + b"\r\n"
    out += b"--" + boundary.encode() + b"--\r\n"
    return "multipart/form-data; boundary=" + boundary, bytes(out)


def main():
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    proc, env = start_fake(sys.argv[1])
    try:
        run(env)
    except Exception as e:  # an answer not of the expected shape
        check("the script ran to its end", False, repr(e))
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            _, stderr = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            _, stderr = proc.communicate()
        check("dynamo fake stops on SIGTERM with exit code 0", proc.returncode == 0, proc.returncode)
        check("dynamo fake says it stopped", "dynamo fake: stopped" in stderr, stderr)
    print("%d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed else 0)


def run(env):
    base, control = env["DYNAMO_BASE_URL"], env["DYNAMO_FAKE_URL"] + "/_dynamotest/"
    creds = {"x-dynamo-tenant-id": env["DYNAMO_TENANT_ID"], "x-dynamo-api-key": env["DYNAMO_API_KEY"]}
    check("the variables name the fake", base.startswith("http://127.0.0.1:") and base == env["DYNAMO_FAKE_URL"], env)

    def api(method, path, body=None, headers=None):
        status, hdrs, raw = request(method, base + path, body, dict(creds, **(headers or {})))
        return status, hdrs, raw

    def ctl(method, path, doc=None):
        body = None if doc is None else json.dumps(doc).encode()
        status, _, raw = request(method, control + path, body, {"Content-Type": "application/json"})
        return status, json.loads(raw) if raw else None

    # Post a batch with an embedded template, built here as multipart.
    template = b"PK\x03\x04 not really a DAP"
    data = {"tasks": [
        {"params": {"id": "001"}, "partParams": [{"partName": "extra", "paramName": "extra"}]},
        {"params": {"id": "002"}},
    ]}
    ctype, body = multipart([
        ("template", "example.dap", "application/octet-stream", template),
        ("data", None, "application/json", json.dumps(data).encode()),
        ("param.extra", None, "application/json", b'{"greeting": "hello"}'),
    ])
    status, _, raw = api("POST", "/v1/batch", body, {"Content-Type": ctype})
    check("POST /v1/batch (multipart) is 202", status == 202, (status, raw))
    posted = json.loads(raw)
    batch_id, tasks = posted["id"], posted["tasks"]
    check("the answer holds one task ID a task", len(tasks) == 2 and posted["licenseUsage"] == 2, posted)

    # What the fake received, through the control API, with no secret in it.
    status, reqs = ctl("GET", "requests")
    post = reqs["requests"][-1] if status == 200 else {}
    check("the control API lists the post", post.get("method") == "POST" and post.get("status") == 202, reqs)
    check("the fake counted the template",
          post.get("template", {}).get("size") == len(template) and post["template"]["fileName"] == "example.dap", post)
    check("the request list holds no API key", env["DYNAMO_API_KEY"] not in json.dumps(reqs), "")

    # Complete the first task with a result file, fail the second.
    status, task = ctl("POST", "batches/%s/tasks/%s/complete" % (batch_id, tasks[0]),
                       {"results": [{"id": "Profile", "content": "profile of 001"}]})
    check("complete through the control API", status == 200 and task["stage"] == "done", (status, task))
    check("the completed task has the part merged into its params",
          task["params"] == {"id": "001", "extra": {"greeting": "hello"}}, task["params"])
    status, task = ctl("POST", "batches/%s/tasks/%s/fail" % (batch_id, tasks[1]), {"message": "Template error"})
    check("fail through the control API", status == 200 and task["stage"] == "failed", (status, task))

    # Read the statuses.
    status, hdrs, raw = api("GET", "/v1/batch/" + batch_id)
    batch = json.loads(raw)
    check("GET /v1/batch/{id} is 200", status == 200, status)
    check("the batch is completed with errors", batch["completed"] and batch["errors"], batch)
    check("postDateTime is written as Instant.toString", is_instant(batch["postDateTime"]), batch["postDateTime"])
    status, hdrs_head, raw_head = api("HEAD", "/v1/batch/" + batch_id)
    check("HEAD is GET without the body", status == 200 and raw_head == b""
          and hdrs_head["Content-Length"] == hdrs["Content-Length"], (status, dict(hdrs_head)))

    status, _, raw = api("GET", "/v1/batch/%s/%s" % (batch_id, tasks[0]))
    ts = json.loads(raw)
    check("the task status lists the result", status == 200 and ts["results"] == ["Profile"], ts)
    check("endDateTime is written as Instant.toString", is_instant(ts["endDateTime"]), ts.get("endDateTime"))
    status, _, raw = api("GET", "/v1/batch/%s/%s" % (batch_id, tasks[1]))
    check("the failed task says why", json.loads(raw)["statusMessage"] == "Template error", raw)

    # Download the result file: no API headers to the storage host.
    url = ts["resultList"][0]["url"]
    status, _, content = request("GET", url)
    check("the result file downloads", status == 200 and content == b"profile of 001", (status, content))
    status, downloads = ctl("GET", "storage-requests")
    check("the download carried no API key", downloads["requests"][-1]["hasAPIKey"] is False, downloads)
    check("the storage request list holds no signature", "X-Amz-Signature" not in json.dumps(downloads), "")

    # Refusals are clear 4xx with a message.
    status, doc = ctl("POST", "faults", {"route": "POST /v1/batch", "faults": [{"status": 503, "retry": 1}]})
    check("an unknown fault field is a 400 naming it", status == 400 and '"retry"' in doc["message"], (status, doc))
    status, doc = ctl("POST", "batches/nope/complete")
    check("an unknown batch is a 404", status == 404 and "nope" in doc["message"], (status, doc))

    # A fault injected through the control API reaches the next post.
    status, _ = ctl("POST", "faults", {"route": "POST /v1/batch", "faults": [{"status": 503, "header": {"Retry-After": "2"}}]})
    check("a fault is queued", status == 200, status)
    status, hdrs, _ = api("POST", "/v1/batch", json.dumps({"template": "T", "tasks": [{"params": {"id": "1"}}]}).encode(),
                          {"Content-Type": "application/json"})
    check("the next post gets the fault", status == 503 and hdrs["Retry-After"] == "2", status)

    # Moving the clock past the 24 hours of retention expires the batch.
    status, clock = ctl("POST", "clock", {"advance": "24h1m"})
    check("the clock moves", status == 200 and is_instant(clock["now"]), clock)
    status, _, _ = api("GET", "/v1/batch/" + batch_id)
    check("an expired batch is 404", status == 404, status)

    status, _ = ctl("POST", "reset")
    status, batches = ctl("GET", "batches")
    check("reset forgets every batch", status == 200 and batches["batches"] == [], batches)


if __name__ == "__main__":
    main()
