"""CODEOWNERS: hmarr/codeowners' 153 reference cases, GitHub's documented examples, lookup order,
and the file `janus codeowners` generates."""

import json
from pathlib import Path

import pytest

from janus.policy.codeowners import CodeOwners, find_codeowners, generate_codeowners
from tests.unit.model.helpers import policy_set

REPO = Path(__file__).resolve().parents[3]
# Vendored from hmarr/codeowners (MIT, Copyright (c) Harry Marr; see tests/data/codeowners/LICENSE).
PATTERNS = REPO / "tests" / "data" / "codeowners" / "patterns.json"


def reference_cases():
    # Read at collection: a missing file is a collection error, never a skip.
    cases = []
    for entry in json.loads(PATTERNS.read_text()):
        for path, expected in entry["paths"].items():
            cases.append(pytest.param(entry["pattern"], path, expected,
                                      id=f"{entry['name']}:{path}"))
    return cases


@pytest.mark.parametrize(("pattern", "path", "expected"), reference_cases())
def test_reference_cases(pattern, path, expected):
    owners = CodeOwners.parse(f"{pattern} @owner\n")
    assert (owners.owners_for(path) is not None) is expected


def test_all_153_reference_cases_are_present():
    assert sum(len(e["paths"]) for e in json.loads(PATTERNS.read_text())) == 153


# The example file from GitHub's documentation ("About code owners"), abridged.
GITHUB_DOCS_EXAMPLE = """\
# These owners will be the default owners for everything in
# the repo. Unless a later match takes precedence,
# @global-owner1 and @global-owner2 will be requested for
# review when someone opens a pull request.
*       @global-owner1 @global-owner2

# Order is important; the last matching pattern takes the most
# precedence. When someone opens a pull request that only
# modifies JS files, only @js-owner and not the global
# owner(s) will be requested for a review.
*.js    @js-owner #This is an inline comment.

# You can also use email addresses if you prefer. They'll be
# used to look up users just like we do for commit author
# emails.
*.go docs@example.com

# Teams can be specified as code owners as well. Teams should
# be identified in the format @org/team-name.
*.txt @octo-org/octocats

# In this example, @doctocat owns any files in the build/logs
# directory at the root of the repository and any of its
# subdirectories.
/build/logs/ @doctocat

# The `docs/*` pattern will match files like
# `docs/getting-started.md` but not further nested files like
# `docs/build-app/troubleshooting.md`.
docs/*  docs@example.com

# In this example, @octocat owns any file in an apps directory
# anywhere in your repository.
apps/ @octocat

# In this example, @doctocat owns any file in the `/docs`
# directory in the root of your repository and any of its
# subdirectories.
/docs/ @doctocat

# In this example, any change inside the `/scripts` directory
# will require approval from @doctocat or @octocat.
/scripts/ @doctocat @octocat

# In this example, @octocat owns any file in a `/logs` directory such as
# `/build/logs`, `/scripts/logs`, and `/deeply/nested/logs`. Any changes
# in a `/logs` directory will require approval from @octocat.
**/logs @octocat

# In this example, @octocat owns any file in the `/apps`
# directory in the root of your repository except for the `/apps/github`
# subdirectory, as this subdirectory has its own owner @doctocat
/apps/ @octocat
/apps/github @doctocat

# In this example, @octocat owns any file in the `/apps`
# directory in the root of your repository except for the `/apps/github`
# subdirectory, as this subdirectory has no owners
/apps/ @octocat
/apps/github
"""


@pytest.mark.parametrize(("path", "owners"), [
    ("README.md", ("@global-owner1", "@global-owner2")),
    ("src/app.js", ("@js-owner",)),
    ("main.go", ("docs@example.com",)),
    ("notes/a.txt", ("@octo-org/octocats",)),
    ("build/logs/today.log", ("@octocat",)),  # **/logs comes later than /build/logs/
    ("deeply/nested/logs/x", ("@octocat",)),
    ("scripts/deploy.sh", ("@doctocat", "@octocat")),
    ("apps/web/index.html", ("@octocat",)),
    ("apps/github/x.rb", ()),  # owner-less line: matched, unowned
    ("docs/getting-started.md", ("@doctocat",)),
    ("docs/build-app/troubleshooting.md", ("@doctocat",)),
    ("src/apps/thing.py", ("@octocat",)),
])
def test_github_docs_example(path, owners):
    assert CodeOwners.parse(GITHUB_DOCS_EXAMPLE).owners_for(path) == owners


def test_no_match_is_none_and_ownerless_is_empty():
    owners = CodeOwners.parse("/src/ @a\n/src/vendor/\n")
    assert owners.owners_for("README.md") is None
    assert owners.owners_for("src/vendor/lib.c") == ()
    assert owners.owners_for("src/main.c") == ("@a",)
    assert owners.matching_rule("src/main.c").line == 1


def test_last_match_wins_even_when_less_specific():
    owners = CodeOwners.parse("/requests/prod/payments/ @leads\n* @everyone\n")
    assert owners.owners_for("requests/prod/payments/a.yaml") == ("@everyone",)


def test_paths_are_case_sensitive():
    owners = CodeOwners.parse("/Docs/ @a\n")
    assert owners.owners_for("Docs/x") == ("@a",)
    assert owners.owners_for("docs/x") is None


def test_leading_slash_on_the_path_is_ignored():
    assert CodeOwners.parse("/a/ @x\n").owners_for("/a/b") == ("@x",)


def test_negation_and_bad_owners_are_skipped_as_invalid_lines():
    owners = CodeOwners.parse("* @all\n!/secret/ @x\n/b/ not-an-owner\n")
    assert owners.owners_for("secret/a") == ("@all",)
    assert owners.owners_for("b/c") == ("@all",)
    assert [e.line for e in owners.errors] == [2, 3]


def test_brackets_are_literal():
    owners = CodeOwners.parse("/apps/[param]/ @x\n")
    assert owners.owners_for("apps/[param]/f.ts") == ("@x",)
    assert owners.owners_for("apps/p/f.ts") is None


def test_escaped_space_in_pattern():
    owners = CodeOwners.parse("/my\\ dir/ @x\n")
    assert owners.owners_for("my dir/f") == ("@x",)


def test_inline_comments_end_the_owners():
    assert CodeOwners.parse("* @a # @b\n").owners_for("x") == ("@a",)


def test_lookup_order():
    files = {".github/CODEOWNERS": "* @github\n", "CODEOWNERS": "* @root\n",
             "docs/CODEOWNERS": "* @docs\n"}
    location, owners = find_codeowners(files.get)
    assert location == ".github/CODEOWNERS" and owners.owners_for("x") == ("@github",)
    del files[".github/CODEOWNERS"]
    assert find_codeowners(files.get)[0] == "CODEOWNERS"
    del files["CODEOWNERS"]
    assert find_codeowners(files.get)[0] == "docs/CODEOWNERS"
    del files["docs/CODEOWNERS"]
    assert find_codeowners(files.get) is None


def test_a_file_of_3_mb_or_more_is_not_loaded():
    big = "* @a\n" + "#" * (3 * 1024 * 1024)
    assert find_codeowners({".github/CODEOWNERS": big, "CODEOWNERS": "* @b\n"}.get) is None


# -- generation ----------------------------------------------------------------------------------


def test_generated_file_for_the_standard_set():
    text = generate_codeowners(policy_set())
    owners = CodeOwners.parse(text)
    assert owners.errors == ()
    assert owners.owners_for("policies/janus.yaml") == ("@acme/sre",)
    assert owners.owners_for(".github/CODEOWNERS") == ("@acme/sre",)
    assert owners.owners_for("README.md") == ("@acme/sre",)
    # payments-prod (leads) and sre-oncall ("*") both cover prod/payments
    assert owners.owners_for("requests/prod/payments/a.yaml") == (
        "@acme/payments-leads", "@acme/sre")
    assert owners.owners_for("requests/prod/payments-eu/a.yaml") == (
        "@acme/payments-leads", "@acme/sre")
    # only sre-oncall covers other namespaces: the leads must not own them
    assert owners.owners_for("requests/prod/billing/a.yaml") == ("@acme/sre",)
    assert owners.owners_for("requests/staging/payments/a.yaml") == ("@acme/sre", "@bob", "@carol")


def test_generation_is_deterministic_and_says_it_is_generated():
    first = generate_codeowners(policy_set())
    assert first == generate_codeowners(policy_set())
    assert first.startswith("# Generated by `janus codeowners`")
    assert first.endswith("\n") and not first.endswith("\n\n")


OVERLAP = """\
apiVersion: janus.dev/v1alpha1
kind: AccessPolicy
metadata: {name: NAME}
spec:
  clusters: [prod]
  namespaces: NAMESPACES
  roles: [pod-exec]
  requesters: {users: [alice]}
  approvers: {users: [APPROVER], required: 1}
  maxDuration: 1h
"""


def overlap(name, namespaces, approver):
    return OVERLAP.replace("NAMESPACES", namespaces).replace("NAME", name).replace(
        "APPROVER", approver)


def test_every_namespace_is_owned_by_the_approvers_of_every_policy_covering_it():
    policies = policy_set(
        p_a=overlap("p-a", '["pay*"]', "anna"),
        p_b=overlap("p-b", '["*-eu"]', "bert"),
        p_c=overlap("p-c", '["pay?ents-eu", "ledger"]', "cleo"),
        p_d=overlap("p-d", '["payments-*"]', "dora"),
    )
    owners = CodeOwners.parse(generate_codeowners(policies))
    for namespace in ["payments", "payments-eu", "paybox-eu", "payxents-eu", "ledger",
                      "ledger-eu", "billing", "pay", "x-eu"]:
        covering = {p for p in policies.policies
                    if "prod" in p.clusters and p.covers_namespace(namespace)}
        needed = {f"@{u}" for p in covering for u in p.approver_users} | {
            f"@{t}" for p in covering for t in p.approver_teams}
        got = set(owners.owners_for(f"requests/prod/{namespace}/r.yaml") or ())
        assert needed <= got, (namespace, needed, got)
    # and no owner is added where the policy cannot apply
    assert "@dora" not in owners.owners_for("requests/prod/billing/r.yaml")


# -- parsing edges (issue 11 item 12: mutants survived the tests above) ---------------------------

def test_parsing_continues_past_a_bad_owner_line():
    from janus.policy.codeowners import LineError
    owners = CodeOwners.parse("/a/ @x\n/b/ not-an-owner\n!/c/ @y\n/requests/ @acme/sre\n")
    assert [(r.pattern, r.owners, r.line) for r in owners.rules] == [
        ("/a/", ("@x",), 1), ("/requests/", ("@acme/sre",), 4)]
    assert owners.owners_for("requests/prod/x.yaml") == ("@acme/sre",)
    assert owners.errors == (
        LineError(2, "'not-an-owner' is not @user, @org/team or an e-mail"),
        LineError(3, "negation ('!') is not supported by GitHub"))


def test_escapes_in_patterns():
    # An escaped space keeps the pattern whole, also as its first character.
    rule = CodeOwners.parse("/my\\ dir/ @x\n").rules[0]
    assert (rule.pattern, rule.owners) == ("/my dir/", ("@x",))
    rule = CodeOwners.parse("\\ lead @x\n").rules[0]
    assert (rule.pattern, rule.owners) == (" lead", ("@x",))
    # The character after an escaped one ends the pattern when it is a space.
    assert CodeOwners.parse("x\\* @bob\n").rules[0].owners == ("@bob",)
    # Only the one character after a backslash is literal.
    owners = CodeOwners.parse("/a\\*b* @x\n")
    assert owners.owners_for("a*bcd") == ("@x",)
    assert owners.owners_for("aXbcd") is None


def test_double_star_alone_and_slash_alone():
    assert CodeOwners.parse("** @x\n").owners_for("README") == ("@x",)
    assert CodeOwners.parse("/ @x\n").owners_for("README") is None


def test_paths_starting_with_x_and_names_with_newlines():
    assert CodeOwners.parse("/XYZ/ @x\n").owners_for("XYZ/f") == ("@x",)
    assert CodeOwners.parse("*.txt @x\n").owners_for("a\nb/c.txt") == ("@x",)


def test_exactly_3_mb_is_not_loaded_just_below_is():
    limit = 3 * 1024 * 1024
    at = "* @a\n" + "#" * (limit - 5)
    assert len(at.encode()) == limit
    assert find_codeowners({".github/CODEOWNERS": at}.get) is None
    below = at[:-1]
    assert find_codeowners({".github/CODEOWNERS": below}.get)[0] == ".github/CODEOWNERS"
