"""The local kit: a real control plane (etcd + kube-apiserver + kwok) and, later, the GitHub
simulator. Used by `janus dev`, `make demo` and the tests."""
