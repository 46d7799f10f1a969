import yaml

from janus.names import (
    access_request_name,
    grant_labels,
    service_account_name,
    token_secret_name,
)
from janus.policy.plan import MINTED_AT_GRANT, plan_objects
from janus.policy.roles import CLUSTER_ROLE_RULES, cluster_role_manifest
from tests.unit.model.helpers import make_request, policy_set


def test_plan_objects_use_the_shared_names():
    request = make_request()
    config = policy_set().config
    sa, rb, secret = plan_objects(request, config)
    cr = access_request_name("prod", "payments", "alice-payments-inc1234")
    sa_name = service_account_name("alice", cr)
    labels = grant_labels(cr, "alice", "prod")

    assert sa["kind"] == "ServiceAccount"
    assert sa["metadata"] == {"name": sa_name, "namespace": "payments", "labels": labels}

    assert rb["kind"] == "RoleBinding"
    assert rb["metadata"]["name"] == sa_name and rb["metadata"]["namespace"] == "payments"
    assert rb["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                             "name": "janus-pod-exec"}
    assert rb["subjects"] == [{"kind": "ServiceAccount", "name": sa_name,
                               "namespace": "payments"}]

    assert secret["kind"] == "Secret"
    assert secret["metadata"]["name"] == token_secret_name(cr)
    assert secret["metadata"]["namespace"] == "janus-tokens"
    assert set(secret["stringData"]) == {"token", "server", "ca", "cluster", "namespace",
                                         "expiresAt"}
    assert secret["stringData"]["token"] == MINTED_AT_GRANT
    assert secret["stringData"]["cluster"] == "prod"
    assert "1h" in secret["stringData"]["expiresAt"]


def test_plan_is_plain_yaml_without_a_token():
    objects = plan_objects(make_request(), policy_set().config)
    text = yaml.safe_dump_all(objects)
    assert yaml.safe_load_all(text)
    assert "eyJ" not in text


def test_cluster_role_catalogue():
    rules = CLUSTER_ROLE_RULES["janus-pod-exec"]
    verbs = {(r["resources"][0], v) for r in rules for v in r["verbs"]}
    assert verbs == {("pods", "get"), ("pods", "list"), ("pods/log", "get"),
                     ("pods/exec", "get"), ("pods/exec", "create"), ("events", "list")}
    manifest = cluster_role_manifest("janus-pod-exec")
    assert manifest["kind"] == "ClusterRole" and manifest["rules"] == rules
