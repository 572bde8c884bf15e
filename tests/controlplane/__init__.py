"""A real Kubernetes control plane for the tests: etcd, kube-apiserver, kube-controller-manager and
kube-scheduler built from Go modules (go.mod beside this file), and a node agent of ours in place of the
kubelet. `scripts/test-cluster start|stop` runs it by hand; tests use the `control_plane` fixture."""
