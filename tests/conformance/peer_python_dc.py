#!/usr/bin/env python3
"""Peer conformance check, Data Center: atlassian-python-api in its Data Center mode against a server.

Third-party client, used unchanged: atlassian-python-api (PyPI) -- ``atlassian.assets.AssetsServer``
(``AssetsCloud`` with ``cloud=False``: Assets at ``{base}/rest/assets/1.0``), ``atlassian.Insight``
(``cloud=False``: the legacy ``{base}/rest/insight/1.0``) and ``atlassian.Jira`` (REST v2). Every request
goes through the library's own methods, URL building, auth, headers and error handling; nothing is
redirected: a Data Center site is reached at its own base URL.

Scenario: auth (personal access token as Bearer, Basic with email and password/token, a wrong token),
schemas, icons, object types with a parent and a child, attributes (text, integer, reference, user),
objects with Text up to Data Center's 450 characters (and one over it refused), user keys, AQL paging with
page/resultPerPage and the navigation list, comments, attachments (upload, list, download bytes, delete),
history, reference info, the legacy path, Jira users and issues with Assets values, status types, deletes
and 404s.

Environment:
  DC_BASE_URL   required  the site's base URL (e.g. http://127.0.0.1:8080/site/dc)
  DC_EMAIL      required  the account's email (Basic user)
  DC_TOKEN      required  a personal access token (Bearer; also the Basic password)
  DC_PASSWORD   optional  the account's password (Basic)
  PEER_TIMEOUT  optional  per-request timeout in seconds (default 30)

Exit status: 0 all checks passed; 1 a response did not match; 2 setup problem. Helpers (check, step,
expect_status, ...) come from peer_python.py beside this file, the Cloud check.
"""
import os
import random
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import peer_python as peer  # noqa: E402  (shares check/step/ok/expect_status and the wire log)
from peer_python import Mismatch, check, die, env, expect_status, ok, step, values_of  # noqa: E402

try:
    import requests
    from atlassian import Insight, Jira
    from atlassian.assets import AssetsServer
except ImportError as e:  # pragma: no cover
    die(2, f"atlassian-python-api not importable ({e}); see README.md for the install command")

DC_TEXT_MAX = 450


def session():
    """A fresh session (the library sets auth on it), logging every exchange to the wire log."""
    s = requests.Session()
    s.trust_env = False
    s.hooks["response"].append(lambda r, *a, **k: peer.WIRE.append((r.request.method, r.request.url, r.status_code)))
    return s


def is_id(x):
    return isinstance(x, int) and not isinstance(x, bool) and x > 0


def attr_value(attrs, type_attr_id):
    for a in attrs:
        if a.get("objectTypeAttributeId") == type_attr_id:
            return values_of(a)
    return []


def run():
    base = env("DC_BASE_URL", required=True).rstrip("/")
    email = env("DC_EMAIL", required=True)
    token = env("DC_TOKEN", required=True)
    password = env("DC_PASSWORD") or token
    timeout = int(env("PEER_TIMEOUT", "30"))
    run_id = f"{random.randrange(10**6):06d}"
    print(f"peer_python_dc: base={base} run={run_id}")

    step("auth: AssetsServer with a personal access token (Bearer), and with Basic")
    pat = AssetsServer(url=base, token=token, session=session(), timeout=timeout)
    check(pat.cloud is False and pat.api_root.strip("/") == "rest/assets/1.0", f"api_root {pat.api_root!r}")
    basic = AssetsServer(url=base, username=email, password=password, session=session(), timeout=timeout)
    listed = pat.list_object_schema()
    check(isinstance(listed, dict) and isinstance(listed.get("objectschemas"), list),
          f"objectschema/list must be {{'objectschemas': [...]}}, got {str(listed)[:200]}")
    check(basic.list_object_schema() == listed, "Basic and Bearer see different schema lists")
    wrong = AssetsServer(url=base, token=token + "-wrong", session=session(), timeout=timeout)
    expect_status(wrong.list_object_schema, 401, "a wrong token")
    ok(f"{len(listed['objectschemas'])} schemas either way; a wrong token gets 401")

    step("create, read, update a schema: POST objectschema/create, GET/PUT objectschema/{id}")
    key = f"DC{run_id}"
    schema = pat.post(pat.url_joiner(pat.api_root, "objectschema/create"),
                      data={"name": f"Peer DC {run_id}", "objectSchemaKey": key, "description": "peer_python_dc"})
    check(is_id(schema.get("id")), f"schema id must be an integer: {schema.get('id')!r}")
    check("workspaceId" not in schema and "globalId" not in schema, "Data Center entities carry no workspace")
    sid = schema["id"]
    check(pat.get_object_schema(sid).get("objectSchemaKey") == key, "GET schema by id")
    upd = pat.update_object_schema(sid, data={"name": f"Peer DC {run_id} v2", "objectSchemaKey": key,
                                              "description": "updated"})
    check(upd.get("description") == "updated", f"updated description {upd.get('description')!r}")
    ok(f"schema {sid} ({key})")
    try:
        body(pat, basic, base, email, token, sid, key, run_id, timeout)
    finally:
        if peer.STEP["name"] != "setup":
            try:
                pat.delete_object_schema(sid)
            except Exception as e:  # cleanup must not hide the real failure
                print(f"   (cleanup: deleting schema {sid} failed: {e})")


def body(pat, basic, base, email, token, sid, key, run_id, timeout):
    step("icons and object types: GET icon/global, POST objecttype/create, GET objectschema/{id}/objecttypes/flat")
    icons = pat.get_all_global_icons()
    check(isinstance(icons, list) and icons and is_id(icons[0].get("id")), f"icon/global: {str(icons)[:200]}")
    icon = icons[0]["id"]
    hw = pat.create_object_type(data={"name": "Hardware", "iconId": icon, "objectSchemaId": sid, "inherited": True})
    lt = pat.create_object_type(data={"name": "Laptop", "iconId": icon, "objectSchemaId": sid,
                                      "parentObjectTypeId": hw["id"]})
    pe = pat.create_object_type(data={"name": "Person", "iconId": icon, "objectSchemaId": sid})
    for t in (hw, lt, pe):
        check(is_id(t.get("id")) and t.get("objectSchemaId") == sid, f"object type ids: {t!r}")
    check(lt.get("parentObjectTypeId") == hw["id"], "Laptop lost its parent")
    flat = pat.get_object_schema_object_types_flat(sid)
    check({"Hardware", "Laptop", "Person"} <= {t.get("name") for t in flat}, "objecttypes/flat misses types")
    ok(f"Hardware={hw['id']} Laptop={lt['id']} Person={pe['id']}")

    step("attributes: GET objecttype/{id}/attributes, POST objecttypeattribute/{typeId} (text, integer, reference, user)")
    pattrs = pat.get_object_type_attributes(pe["id"])
    names = [a.get("name") for a in pattrs]
    check({"Key", "Name", "Created", "Updated"} <= set(names), f"default attributes {names}")
    person_name = next(a["id"] for a in pattrs if a.get("label") is True)
    rtypes = pat.get_reference_types()
    check(rtypes and is_id(rtypes[0].get("id")), f"config/referencetype: {str(rtypes)[:200]}")
    serial = pat.create_object_type_attribute(hw["id"], data={"name": "Serial", "type": 0, "defaultTypeId": 0})
    notes = pat.create_object_type_attribute(lt["id"], data={"name": "Notes", "type": 0, "defaultTypeId": 0})
    ram = pat.create_object_type_attribute(lt["id"], data={"name": "RAM", "type": 0, "defaultTypeId": 1})
    owner = pat.create_object_type_attribute(lt["id"], data={"name": "Owner", "type": 1, "typeValue": pe["id"],
                                                             "additionalValue": rtypes[0]["id"]})
    assignee = pat.create_object_type_attribute(lt["id"], data={"name": "Assignee", "type": 2})
    check(owner.get("referenceObjectTypeId") == pe["id"], f"Owner.referenceObjectTypeId {owner.get('referenceObjectTypeId')!r}")
    lattrs = pat.get_object_type_attributes(lt["id"])
    check("Serial" in {a.get("name") for a in lattrs}, "Laptop must inherit Serial")
    lt_name = next(a["id"] for a in lattrs if a.get("label") is True)
    ok(f"Serial={serial['id']} Notes={notes['id']} RAM={ram['id']} Owner={owner['id']} Assignee={assignee['id']}")

    step("Jira users: GET /rest/api/2/myself, user/search?username=., user?key=")
    jira = Jira(url=base, username=email, password=token, session=session(), timeout=timeout)
    me = jira.myself()
    check(str(me.get("key", "")).startswith("JIRAUSER") and me.get("name"), f"myself: {me!r}")
    everyone = jira.user_find_by_user_string(username=".", limit=100)
    check(isinstance(everyone, list) and any(u.get("key") == me["key"] for u in everyone), "user/search misses me")
    by_key = jira.user(key=me["key"])
    check(by_key.get("name") == me["name"], f"user?key= returned {by_key!r}")
    ok(f"me = {me['key']} ({me['name']}), {len(everyone)} users")

    step(f"objects: POST object/create, Text up to {DC_TEXT_MAX} characters, user keys as User values")
    alice = pat.create_object(pe["id"], [{"objectTypeAttributeId": person_name, "objectAttributeValues": [{"value": "Alice"}]}])
    check(is_id(alice.get("id")) and alice.get("objectKey", "").startswith(key + "-"), f"created {alice!r}")
    long_text = ("Carried over from Data Center. " * 20)[:DC_TEXT_MAX]
    laptops = []
    for i in range(1, 8):
        laptops.append(pat.create_object(lt["id"], [
            {"objectTypeAttributeId": lt_name, "objectAttributeValues": [{"value": f"LT-{i:02d}"}]},
            {"objectTypeAttributeId": serial["id"], "objectAttributeValues": [{"value": f"SN-{i:04d}"}]},
            {"objectTypeAttributeId": ram["id"], "objectAttributeValues": [{"value": str(8 * i)}]},
            {"objectTypeAttributeId": notes["id"], "objectAttributeValues": [{"value": long_text if i == 1 else "short"}]},
            {"objectTypeAttributeId": owner["id"], "objectAttributeValues": [{"value": alice["objectKey"]}]},
            {"objectTypeAttributeId": assignee["id"], "objectAttributeValues": [{"value": me["key"]}]},
        ]))
    over = [{"objectTypeAttributeId": lt_name, "objectAttributeValues": [{"value": "LT-XX"}]},
            {"objectTypeAttributeId": notes["id"], "objectAttributeValues": [{"value": long_text + "!"}]}]
    expect_status(lambda: pat.create_object(lt["id"], over), 400, f"a Text of {DC_TEXT_MAX + 1} characters")
    first = laptops[0]
    attrs = pat.get_object_attributes(first["id"])
    check(attr_value(attrs, notes["id"])[0].get("value") == long_text, "the long Text did not read back")
    user = attr_value(attrs, assignee["id"])[0]
    check(user.get("value") == me["key"] and (user.get("user") or {}).get("key") == me["key"]
          and (user.get("user") or {}).get("name") == me["name"], f"User value {user!r}")
    check(pat.get_object_attribute_value(first["id"], serial["id"]) == "SN-0001", "Serial value")
    ok(f"Alice={alice['objectKey']} laptops {laptops[0]['objectKey']}..{laptops[-1]['objectKey']}; 451 characters refused")

    step("AQL paging: GET aql/objects?qlQuery=&page=&resultPerPage=3")
    q = f'objectSchemaId = {sid} AND objectType = "Laptop"'
    seen, page, pages = [], 1, None
    while True:
        res = pat.get_aql_objects(query=q, page=page, result_per_page=3, include_attributes=False)
        entries = res.get("objectEntries")
        check(isinstance(entries, list) and len(entries) <= 3, f"objectEntries: {str(res)[:200]}")
        check(res.get("totalFilterCount") == 7 and res.get("pageNumber") == page, f"page {page} header {res.get('totalFilterCount')}/{res.get('pageNumber')}")
        pages = res.get("pageSize")
        seen += [e.get("id") for e in entries]
        if page >= pages or page > 10:
            break
        page += 1
    check(pages == 3 and sorted(seen) == sorted(o["id"] for o in laptops), f"paged {seen} in {pages} pages")
    nav = pat.search_objects_aql_navigation(data={"objectTypeId": lt["id"], "objectSchemaId": sid, "qlQuery": "",
                                                  "resultsPerPage": 5, "page": 1})
    check(len(nav.get("objectEntries", [])) == 5 and nav.get("totalFilterCount") == 7, "object/navlist/aql page")
    ok("7 objects in 3 pages; navlist 5 of 7")

    step("comments: POST comment/create, GET comment/object/{id}")
    c = pat.add_comment_to_object("Checked in at the service desk.", first["id"], 0)
    check(is_id(c.get("id")) and c.get("objectId") == first["id"], f"created comment {c!r}")
    listed = pat.get_comment_of_object(first["id"])
    check([x.get("comment") for x in listed] == ["Checked in at the service desk."], f"comments {listed!r}")
    check((listed[0].get("actor") or {}).get("key") == me["key"], "comment author is not me")
    expect_status(lambda: pat.get_comment_of_object(999999), 404, "comments of a missing object")
    ok("created and listed")

    step("attachments: POST attachments/object/{id} (multipart), GET list, download, DELETE attachments/{id}")
    payload = bytes(range(256)) * 8 + b"end\n"
    with tempfile.NamedTemporaryFile(prefix="peer-", suffix=".bin", delete=False) as f:
        f.write(payload)
        path = f.name
    try:
        up = basic.upload_attachment_to_object(first["id"], path)
    finally:
        os.unlink(path)
    check(isinstance(up, list) and len(up) == 1 and is_id(up[0].get("id")), f"upload answered {str(up)[:200]}")
    check(isinstance(up[0].get("created"), dict) and "seconds" in up[0]["created"], "upload's created is {seconds, nanos}")
    files = pat.get_attachments_of_objects(first["id"])
    check(len(files) == 1 and files[0].get("filename") == os.path.basename(path), f"attachments {files!r}")
    check(str(files[0].get("filesize", "")).endswith("kB"), f"filesize {files[0].get('filesize')!r}")
    got = pat.get(files[0]["url"], absolute=True, not_json_response=True)
    check(got == payload, f"downloaded {len(got or b'')} bytes, uploaded {len(payload)}")
    pat.delete_attachment(files[0]["id"])
    check(pat.get_attachments_of_objects(first["id"]) == [], "deleted attachment still listed")
    expect_status(lambda: pat.get(files[0]["url"], absolute=True, not_json_response=True), 404, "download after delete")
    ok(f"{len(payload)} bytes round trip")

    step("update, history, reference info: PUT object/{id}, GET object/{id}/history, GET object/{id}/referenceinfo")
    pat.update_object(first["id"], lt["id"], [{"objectTypeAttributeId": serial["id"], "objectAttributeValues": [{"value": "SN-0001-B"}]}])
    hist = pat.get_object_history(first["id"])
    check(any(h.get("affectedAttribute") == "Serial" and h.get("newValue") == "SN-0001-B" for h in hist), "no history of Serial")
    check(all(is_id(h.get("id")) for h in hist), "history ids must be integers")
    refs = pat.get_object_reference_info(alice["id"])
    check(any(r.get("numberOfReferencedObjects") == 7 for r in refs), f"referenceinfo {str(refs)[:200]}")
    ok(f"{len(hist)} history entries; 7 laptops refer to Alice")

    step("legacy path: Insight (cloud=False) at rest/insight/1.0")
    legacy = Insight(url=base, token=token, session=session(), timeout=timeout)
    check(legacy.api_root.strip("/") == "rest/insight/1.0", f"Insight api_root {legacy.api_root!r}")
    check(legacy.get_object(first["id"]).get("label") == "LT-01", "legacy GET object")
    res = legacy.iql(q, sid, result_per_page=10)
    check(res.get("totalFilterCount") == 7 and len(res.get("objectEntries", [])) == 7, "legacy iql/objects")
    check([x.get("comment") for x in legacy.get_comment_of_object(first["id"])] == ["Checked in at the service desk."],
          "legacy comment/object")
    ok("object, IQL and comments on the legacy path")

    step("Jira issues: GET /rest/api/2/search, PUT /rest/api/2/issue/{key} with an Assets field as object keys")
    found = jira.jql("project = ITSM", fields="summary,customfield_10191", limit=5)
    issues = found.get("issues") or []
    check(found.get("total", 0) >= 1 and issues, f"search: {str(found)[:200]}")
    issue_key = issues[0]["key"]
    jira.update_issue_field(issue_key, {"customfield_10191": [{"key": first["objectKey"]}]})
    value = jira.issue(issue_key)["fields"].get("customfield_10191")
    check(value == [{"key": first["objectKey"]}], f"{issue_key}.customfield_10191 = {value!r}")
    ok(f"{found['total']} issues; {issue_key} now points at {first['objectKey']}")

    step("status types: POST/GET/PUT/DELETE config/statustype")
    st = pat.create_status_type(data={"name": f"PeerDC{run_id}", "category": 1, "objectSchemaId": sid})
    check(is_id(st.get("id")) and st.get("objectSchemaId") == sid, f"status {st!r}")
    su = pat.update_status_type(st["id"], data={"name": f"PeerDC{run_id}b", "category": 2, "objectSchemaId": sid})
    check(su.get("category") == 2, f"updated status {su!r}")
    pat.delete_status_type(st["id"])
    expect_status(lambda: pat.get_status_type(st["id"]), 404, "GET deleted status type")
    ok("create/read/update/delete")

    step("deletes and 404s: DELETE object/{id}, objecttype/{id}, objectschema/{id}")
    gone = laptops[-1]
    pat.delete_object(gone["id"])
    expect_status(lambda: pat.get_object(gone["id"]), 404, "GET deleted object")
    expect_status(lambda: pat.get_attachments_of_objects(gone["id"]), 404, "attachments of a deleted object")
    scratch = pat.create_object_type(data={"name": "Scratch", "iconId": icon, "objectSchemaId": sid})
    pat.delete_object_type(scratch["id"])
    expect_status(lambda: pat.get_object_type(scratch["id"]), 404, "GET deleted object type")
    pat.delete_object_schema(sid)
    expect_status(lambda: pat.get_object_schema(sid), 404, "GET deleted schema")
    peer.STEP["name"] = "setup"  # nothing left to clean up
    ok("deleted; GET answers 404")


def main():
    # The kit's main() runs `run` with its own failure reporting (exit 1 with the step and the last
    # requests, 2 for setup problems); here `run` is the Data Center scenario.
    peer.run = run
    peer.main()
    print("peer_python_dc: all checks passed")


if __name__ == "__main__":
    main()
