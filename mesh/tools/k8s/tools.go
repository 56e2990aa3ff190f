//go:build tools

// Package k8stools pins the commands the mesh tests build from this module:
// kube-apiserver and kubectl from k8s.io/kubernetes, etcd from ./cmd/etcd.
package k8stools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
