// Package kubeapi checks every Kubernetes object the Pulumi program would
// create against a real Kubernetes API server, offline.
//
// It builds kube-apiserver from the k8s.io/kubernetes module this go.mod
// pins (once; the binary is cached under .cache/), runs it on loopback with
// a private etcd, installs the CRDs of crds/ (our TargetGroupBinding, the VPC
// resource controller's SecurityGroupPolicy), and submits each object of
// each shipped stack's offline plan with server-side dry-run and
// strict field validation: exactly what the API server of a real cluster
// would say to the Kubernetes provider, minus admission webhooks.
//
// It is a module of its own so that the program's go.mod does not carry
// Kubernetes' dependency tree.
package kubeapi
