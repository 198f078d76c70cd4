package lbcontroller

// Where the controller's CRDs come from (issue 23, D-5).
//
// Helm installs a chart's crds/ once and never upgrades them, so the
// program applies the CRDs itself, from the same release as the chart:
// the controller's Go module at the tag AppVersion, which carries the chart
// source (helm/aws-load-balancer-controller, the directory the chart
// repository publishes as the chart: at v3.5.0 the archive the index of
// https://aws.github.io/eks-charts lists, sha256 45051f63…ccd5, holds a
// crds/crds.yaml identical to the module's). The module is fetched the way
// every Go module of this program is, through the Go module proxy the user
// configured (GOPROXY), and pinned by content twice:
//
//   - Module.Sum is the module's go.sum hash (h1:, the dirhash of its zip);
//     a proxy that serves anything else for this version is refused, and
//     the go command checks the same hash against the checksum database
//     when it first downloads the module;
//   - CRDs.SHA256 is the hash of the one file applied; a changed copy in
//     the module cache is refused.
//
// Nothing is fetched from GitHub or the chart repository for the CRDs, the
// offline plan and CI work wherever the Go module proxy answers, and a
// failed fetch stops the program with an error that says what failed. A
// chart bump moves AppVersion, Module.Version, Module.Sum and CRDs.SHA256
// together (TestControllerCRDsComeFromThePinnedModule holds them to each
// other and to the chart's Chart.yaml).
//
// The file is applied with yamlv2.ConfigFile from its verified place in
// the module cache. The path differs between machines (GOMODCACHE); a
// different path only makes the component read the same bytes again: the
// CRDs themselves change only when their content does. The resource's type
// and name are the ones stacks deployed before, so no CRD (and no
// TargetGroupBinding with it) is ever deleted by this change.
//
// gateway-crds.yaml, the chart's other CRD file, is left out on purpose:
// the platform uses no Gateway API, and the controller turns its gateway
// controllers off when their CRDs are missing (v3.5.0 and v3.6.2
// pkg/gateway/crddetect/gateway_feature_flags.go,
// ApplyGatewayCRDDetection).

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"time"

	yamlv2 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/yaml/v2"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"golang.org/x/mod/sumdb/dirhash"
)

// Module is one version of a Go module, pinned by its go.sum hash.
type Module struct {
	Path    string
	Version string
	// Sum is the h1: hash go.sum would record for the module's content.
	Sum string
}

// String is "path@version".
func (m Module) String() string { return m.Path + "@" + m.Version }

// File is one file of a module, pinned by its own sha256.
type File struct {
	Module Module
	// Name is the file's path inside the module.
	Name string
	// SHA256 of the file, hex.
	SHA256 string
}

// ControllerModule is the controller's source at AppVersion: the module
// sigs.k8s.io/aws-load-balancer-controller/v3 (its go.mod's path from
// v3.0.0 on). Sum as the Go checksum database records it for v3.6.2.
var ControllerModule = Module{
	Path:    "sigs.k8s.io/aws-load-balancer-controller/v3",
	Version: AppVersion,
	Sum:     "h1:gQyvTzHLIaJvLi8MuHKskkSgM9DeHd4OTr+zxcPkikE=",
}

// ChartDir is the chart inside the controller's module.
const ChartDir = "helm/" + ChartName

// CRDs is the chart's crds/crds.yaml, the CRDs the program applies:
// IngressClassParams, TargetGroupBinding, ALBTargetControlConfig and
// GlobalAccelerator.
var CRDs = File{
	Module: ControllerModule,
	Name:   ChartDir + "/crds/crds.yaml",
	SHA256: "a4fcee6ec3fefe69be490b53b6a244b93bbdb1c927f4782dff2b59316581bb7f",
}

// Download is what Fetch knows of a downloaded module: where the go
// command keeps its zip and its extracted tree, and the hash it computed.
type Download struct {
	Zip, Dir, Sum string
}

// Downloader brings a module version into the module cache.
type Downloader func(ctx context.Context, m Module) (Download, error)

// DownloadTimeout bounds one go mod download: a cold cache on a slow link.
const DownloadTimeout = 5 * time.Minute

// GoModDownload runs `go mod download -json` outside any module, so that
// the user's GOPROXY, GONOSUMDB, GOFLAGS credentials and module cache
// apply and nothing in this repository's go.mod or go.sum changes.
func GoModDownload(ctx context.Context, m Module) (Download, error) {
	goCmd, err := exec.LookPath("go")
	if err != nil {
		return Download{}, fmt.Errorf("the go command is not on PATH (it fetches Go modules for `pulumi up` too): %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, DownloadTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, goCmd, "mod", "download", "-json", m.String())
	cmd.Dir = os.TempDir()
	cmd.Env = append(os.Environ(), "GO111MODULE=on", "GOWORK=off", "GOFLAGS="+withoutModFlag(os.Getenv("GOFLAGS")))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := cmd.Run()
	var out struct {
		Zip, Dir, Sum, Error string
	}
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil || out.Error != "" || runErr != nil {
		msg := strings.TrimSpace(out.Error)
		if msg == "" {
			msg = strings.TrimSpace(stderr.String())
		}
		if msg == "" && runErr != nil {
			msg = runErr.Error()
		}
		return Download{}, fmt.Errorf("go mod download %s: %s", m, msg)
	}
	return Download{Zip: out.Zip, Dir: out.Dir, Sum: out.Sum}, nil
}

// withoutModFlag drops -mod=… from GOFLAGS: outside a module it is an
// error, and the download needs no build mode.
func withoutModFlag(goflags string) string {
	var keep []string
	for _, f := range strings.Fields(goflags) {
		if !strings.HasPrefix(f, "-mod=") {
			keep = append(keep, f)
		}
	}
	return strings.Join(keep, " ")
}

// Verified is a module whose content matched its pin.
type Verified struct {
	Module Module
	Dir    string
	Zip    string
}

// Fetch downloads m and checks its content against m.Sum: the hash of the
// zip the go command keeps, computed here, not taken from its word.
func Fetch(ctx context.Context, m Module, download Downloader) (*Verified, error) {
	d, err := download(ctx, m)
	if err != nil {
		return nil, fmt.Errorf("fetching %s through the Go module proxy (go env GOPROXY) failed: %w", m, err)
	}
	got, err := dirhash.HashZip(d.Zip, dirhash.Hash1)
	if err != nil {
		return nil, fmt.Errorf("hashing %s (%s): %w", m, d.Zip, err)
	}
	if got != m.Sum {
		return nil, fmt.Errorf("%s has content hash %s, but %s is pinned: refusing it (a proxy or module cache serving other content for this version)", m, got, m.Sum)
	}
	return &Verified{Module: m, Dir: d.Dir, Zip: d.Zip}, nil
}

// ReadFile reads a file of the verified module from its zip.
func (v *Verified) ReadFile(name string) ([]byte, error) {
	return readZipEntry(v.Zip, v.Module.String()+"/"+path.Clean(name))
}

// Path is where the go command extracted a file of the module.
func (v *Verified) Path(name string) string {
	return filepath.Join(v.Dir, filepath.FromSlash(name))
}

// ErrTampered is wrapped by every refusal of content that does not match
// its pin.
var ErrTampered = errors.New("content does not match its pin")

// Resolve fetches f's module and returns the path of f in the module cache
// once the file there has f.SHA256, and its content.
func Resolve(ctx context.Context, f File, download Downloader) (string, []byte, error) {
	v, err := Fetch(ctx, f.Module, download)
	if err != nil {
		return "", nil, err
	}
	p := v.Path(f.Name)
	b, err := os.ReadFile(p)
	if err != nil {
		return "", nil, fmt.Errorf("reading %s of %s: %w", f.Name, f.Module, err)
	}
	if got := SHA256(b); got != f.SHA256 {
		return "", nil, fmt.Errorf("%s of %s at %s has sha256 %s, but %s is pinned: refusing it: %w", f.Name, f.Module, p, got, f.SHA256, ErrTampered)
	}
	return p, b, nil
}

// SHA256 is the hex sha256 of b.
func SHA256(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// resolved memoises Resolve of the pinned CRDs per process: every region
// and every plan of a test binary applies the same file.
var resolved struct {
	sync.Mutex
	done map[File]string
}

// CRDsPath resolves the pinned CRDs once per process.
func CRDsPath(ctx context.Context) (string, error) {
	resolved.Lock()
	defer resolved.Unlock()
	if p, ok := resolved.done[CRDs]; ok {
		return p, nil
	}
	p, _, err := Resolve(ctx, CRDs, GoModDownload)
	if err != nil {
		return "", fmt.Errorf("the AWS Load Balancer Controller's CRDs (%s of %s): %w", CRDs.Name, CRDs.Module, err)
	}
	if resolved.done == nil {
		resolved.done = map[File]string{}
	}
	resolved.done[CRDs] = p
	return p, nil
}

// newCRDs applies the controller's CRDs as resources of their own. Helm
// installs a chart's crds/ only on first install and never upgrades them,
// so a chart bump would otherwise run a new controller against old schemas.
func newCRDs(ctx *pulumi.Context, name string, opts ...pulumi.ResourceOption) (pulumi.Resource, error) {
	file, err := CRDsPath(ctx.Context())
	if err != nil {
		return nil, err
	}
	return yamlv2.NewConfigFile(ctx, name, &yamlv2.ConfigFileArgs{
		File: pulumi.String(file),
	}, opts...)
}

// readZipEntry reads one file of a zip.
func readZipEntry(zipPath, name string) ([]byte, error) {
	r, err := zip.OpenReader(zipPath)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	for _, f := range r.File {
		if f.Name != name {
			continue
		}
		rc, err := f.Open()
		if err != nil {
			return nil, err
		}
		defer rc.Close()
		return io.ReadAll(rc)
	}
	return nil, fmt.Errorf("%s: no %s in it", zipPath, name)
}
