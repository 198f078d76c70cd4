// Package kube is the few Kubernetes API calls the patch-window job makes,
// over plain HTTPS with the pod's service-account token: no client library,
// so the job's image holds this module and the standard library only.
package kube

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/authplatform/auth-platform/cmd/patch-window/recycle"
)

// In-cluster credentials (Kubernetes documentation, "Accessing the
// Kubernetes API from a Pod").
const (
	tokenFile = "/var/run/secrets/kubernetes.io/serviceaccount/token"
	caFile    = "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt"
)

// RestartedAtAnnotation is what `kubectl rollout restart` sets on the pod
// template.
const RestartedAtAnnotation = "kubectl.kubernetes.io/restartedAt"

// Client calls the API server at Base.
type Client struct {
	Base string
	HTTP *http.Client
	// Token returns the bearer token for each request ("" sends none:
	// the HTTP client authenticates, e.g. in tests).
	Token func() (string, error)
	// ZoneLabel holds an auth pod's zone. Default DefaultZoneLabel.
	ZoneLabel string
}

// DefaultZoneLabel is the auth pods' zone label (components/authservice
// ZoneLabel).
const DefaultZoneLabel = "auth-platform/zone"

// InCluster is the client of a pod: the API server from the service
// environment, the CA and token its service account mounts. The token is
// read on every request: the kubelet rotates it.
func InCluster() (*Client, error) {
	host, port := os.Getenv("KUBERNETES_SERVICE_HOST"), os.Getenv("KUBERNETES_SERVICE_PORT")
	if host == "" || port == "" {
		return nil, fmt.Errorf("not in a cluster: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are unset")
	}
	ca, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("reading the cluster CA: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(ca) {
		return nil, fmt.Errorf("no certificate in %s", caFile)
	}
	return &Client{
		Base: "https://" + net.JoinHostPort(host, port),
		HTTP: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}},
		Token: func() (string, error) {
			b, err := os.ReadFile(tokenFile)
			return strings.TrimSpace(string(b)), err
		},
	}, nil
}

// StatusError is an API answer other than 2xx.
type StatusError struct {
	Code    int
	Message string
}

func (e *StatusError) Error() string { return fmt.Sprintf("HTTP %d: %s", e.Code, e.Message) }

func (c *Client) do(ctx context.Context, method, path, contentType string, body []byte, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, c.Base+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if c.Token != nil {
		tok, err := c.Token()
		if err != nil {
			return fmt.Errorf("reading the service account token: %w", err)
		}
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 32<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		var st struct {
			Message string `json:"message"`
		}
		_ = json.Unmarshal(b, &st)
		return &StatusError{Code: resp.StatusCode, Message: st.Message}
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(b, out)
}

type objectMeta struct {
	Name              string            `json:"name"`
	Labels            map[string]string `json:"labels"`
	CreationTimestamp time.Time         `json:"creationTimestamp"`
	DeletionTimestamp *time.Time        `json:"deletionTimestamp"`
	Generation        int64             `json:"generation"`
}

// ListPods implements recycle.Client.
func (c *Client) ListPods(ctx context.Context, namespace, selector string) ([]recycle.Pod, error) {
	var list struct {
		Items []struct {
			Metadata objectMeta `json:"metadata"`
			Status   struct {
				Phase string `json:"phase"`
			} `json:"status"`
		} `json:"items"`
	}
	path := fmt.Sprintf("/api/v1/namespaces/%s/pods?labelSelector=%s", url.PathEscape(namespace), url.QueryEscape(selector))
	if err := c.do(ctx, http.MethodGet, path, "", nil, &list); err != nil {
		return nil, err
	}
	label := c.ZoneLabel
	if label == "" {
		label = DefaultZoneLabel
	}
	out := make([]recycle.Pod, 0, len(list.Items))
	for _, it := range list.Items {
		out = append(out, recycle.Pod{
			Name:     it.Metadata.Name,
			Zone:     it.Metadata.Labels[label],
			Created:  it.Metadata.CreationTimestamp,
			Running:  it.Status.Phase == "Running",
			Deleting: it.Metadata.DeletionTimestamp != nil,
		})
	}
	return out, nil
}

// GetDeployment implements recycle.Client.
func (c *Client) GetDeployment(ctx context.Context, namespace, name string) (recycle.Deployment, error) {
	var d struct {
		Metadata objectMeta `json:"metadata"`
		Spec     struct {
			Replicas *int32 `json:"replicas"`
		} `json:"spec"`
		Status struct {
			ObservedGeneration int64 `json:"observedGeneration"`
			Replicas           int32 `json:"replicas"`
			UpdatedReplicas    int32 `json:"updatedReplicas"`
			ReadyReplicas      int32 `json:"readyReplicas"`
			AvailableReplicas  int32 `json:"availableReplicas"`
		} `json:"status"`
	}
	path := fmt.Sprintf("/apis/apps/v1/namespaces/%s/deployments/%s", url.PathEscape(namespace), url.PathEscape(name))
	if err := c.do(ctx, http.MethodGet, path, "", nil, &d); err != nil {
		return recycle.Deployment{}, err
	}
	replicas := int32(1) // the API's default
	if d.Spec.Replicas != nil {
		replicas = *d.Spec.Replicas
	}
	return recycle.Deployment{
		Name: d.Metadata.Name, Generation: d.Metadata.Generation, ObservedGeneration: d.Status.ObservedGeneration,
		Replicas: replicas, StatusReplicas: d.Status.Replicas, Updated: d.Status.UpdatedReplicas,
		Ready: d.Status.ReadyReplicas, Available: d.Status.AvailableReplicas,
	}, nil
}

// RestartDeployment implements recycle.Client: the strategic merge patch
// `kubectl rollout restart` sends.
func (c *Client) RestartDeployment(ctx context.Context, namespace, name string, at time.Time) error {
	patch, err := json.Marshal(map[string]any{"spec": map[string]any{"template": map[string]any{"metadata": map[string]any{
		"annotations": map[string]string{RestartedAtAnnotation: at.UTC().Format(time.RFC3339)},
	}}}})
	if err != nil {
		return err
	}
	path := fmt.Sprintf("/apis/apps/v1/namespaces/%s/deployments/%s", url.PathEscape(namespace), url.PathEscape(name))
	return c.do(ctx, http.MethodPatch, path, "application/strategic-merge-patch+json", patch, nil)
}

// GetConfigMap implements recycle.Client.
func (c *Client) GetConfigMap(ctx context.Context, namespace, name string) (map[string]string, bool, error) {
	var cm struct {
		Data map[string]string `json:"data"`
	}
	path := fmt.Sprintf("/api/v1/namespaces/%s/configmaps/%s", url.PathEscape(namespace), url.PathEscape(name))
	err := c.do(ctx, http.MethodGet, path, "", nil, &cm)
	if se, ok := err.(*StatusError); ok && se.Code == http.StatusNotFound {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	return cm.Data, true, nil
}
