// Package image builds the auth service from this repository into a
// container image and keeps it in a stack-owned ECR repository, so a stack
// deploys code that exists instead of an image someone must publish first.
//
// The Deployment references the pushed image by digest: a change to what
// the build reads yields a new tag and a new digest and rolls the pods;
// anything else (a README, a test, another component) leaves the image, and
// the pods, alone.
//
// # Why an update never collides with a tag
//
// docker-build (pulumi-docker-build) builds and pushes again whenever its
// Diff finds a change (v0.0.21 provider/internal/image.go, Image.Diff): in
// an input it compares literally (context.location, context.named, the
// Dockerfile, tags, platforms, a registry's address or user) or in its own
// hash of the build context (provider/internal/context.go,
// hashBuildContext: the Dockerfile's content and every file of the context
// and of each local named context, by path, content and mode, minus the
// context's .dockerignore). It also builds again when the image is no
// longer in the state. A rebuild is never byte-identical (BuildKit stamps
// times, and the RDS bundle is fetched anew), so each trigger either gets a
// tag of its own or must be allowed to overwrite one. Review 2 (L-1) found
// five triggers that collided with the repository's immutable tags; this
// is how each is met:
//
//  1. Another checkout path (CI after a laptop): every path docker-build is
//     given is relative to the working directory (Args), which the engine
//     gives the program and every provider plugin alike (pulumi/pulumi
//     sdk/v3 v3.274.1 go/common/resource/plugin/context.go:42, Pwd "the
//     working directory to spawn all plugins in"; plugin.go:599 cmd.Dir).
//     The inputs are the same strings in every checkout.
//  2. A change under a named context (tests/realparts), and 3. file modes
//     (a umask of 002 instead of 022): the tag is derived from what
//     docker-build hashes, named contexts and modes included (SourceHash),
//     so a change that makes docker-build rebuild makes a new tag too.
//  4. A rollback or revert to sources built before, and 5. an image dropped
//     from the state (a refresh, a cancelled up): these rebuild identical
//     inputs under a tag that exists. The repository's tags are therefore
//     MUTABLE and the rebuild overwrites the tag instead of failing.
//     Nothing resolves a tag: the Deployment runs the digest docker-build
//     returned from its own build, so a moved tag never changes what runs.
//     A tag names one set of build inputs (possibly several builds of it,
//     the newest last); a digest names one build. IMMUTABLE_WITH_EXCLUSION
//     would keep other tags immutable, but it needs exclusion filters that
//     pulumi-aws v6.83.4's ecr.RepositoryArgs does not have.
//
// The refresh itself must not drop the image: v0.0.15's Image.Read turned
// any registry error into "gone", and the ECR token in the state expires
// after 12 hours, so every refresh a day after an up removed the image from
// the state. The fix (pulumi-docker-build#930: "Image is no longer deleted
// from state when a registry read fails with a non-404 error") shipped in
// v0.0.21, whose Go SDK does not resolve here; but a plugin's version is
// the resource's option, not the SDK's (PluginVersion).
//
// What a rollback does: the older sources are built again and pushed under
// their old tag, and the Deployment rolls to the new digest (the same code,
// a new build). The previous build stays in the repository, untagged, until
// the lifecycle policy's count expires it.
package image

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"syscall"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ecr"
	"github.com/pulumi/pulumi-docker-build/sdk/go/dockerbuild"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/authplatform/auth-platform/components/naming"
)

// Defaults for Args.
const (
	// DefaultPlatform: EKS on Fargate runs x86_64 pods only.
	DefaultPlatform = "linux/amd64"
	// DefaultKeepImages is how many images the lifecycle policy keeps; older
	// ones expire, but never the one a Deployment still references, since
	// each rollout pushes a newer one first.
	DefaultKeepImages = 20
	// TagPrefix marks tags derived from the build's sources.
	TagPrefix = "src-"
	// TagMutability of the repository: a rebuild of sources built before
	// overwrites their tag (see the package doc).
	TagMutability = "MUTABLE"
)

// PluginVersion is the docker-build provider plugin every Image asks the
// engine for, whatever the SDK module's version (v0.0.15 in go.mod, which
// would ask for its own). v0.0.21 is the first whose Image.Read keeps the
// image in the state on a registry error other than not-found
// (pulumi-docker-build CHANGELOG at v0.0.21, PR #930). Its schema
// (provider/cmd/pulumi-resource-docker-build/schema.json, v0.0.15 against
// v0.0.21) only adds an optional input, ignoreSecretsInDiffCalculation, and
// marks secrets secret: every input of the v0.0.15 SDK keeps its name and
// type. The engine installs a plugin version a resource asks for when it is
// missing (pulumi/pulumi pkg/resource/deploy/providers/registry.go,
// loadProvider), as it installs the SDK's own.
const PluginVersion = "0.0.21"

// Ignored lists what the image build leaves out of its context and of the
// source hash, as .dockerignore patterns; the repository's .dockerignore
// in the service directory must say exactly this (a test holds them
// together). Tests and docs do not change the binary, so they must not
// change the tag either. docker-build applies the context's ignore file to
// the named contexts as well, and so does SourceHash.
var Ignored = []string{"**/*_test.go", "**/testdata", "**/*.md", "ci.sh"}

// DefaultRepository is the auth service's repository name (Args.Repository).
const DefaultRepository = "auth-service"

// Args configures an Image.
type Args struct {
	// Context is the build context, the service's module directory,
	// relative to the working directory (an absolute path would differ
	// between checkouts, and docker-build rebuilds when it does). Required.
	Context string
	// Dockerfile within Context. Default "Dockerfile".
	Dockerfile string
	// NamedContexts are further build contexts (FROM/COPY --from=name),
	// e.g. a local module the service's go.mod replaces, relative to the
	// working directory like Context. Default none.
	NamedContexts map[string]string
	// Platform of the image. Default DefaultPlatform.
	Platform string
	// KeepImages bounds the repository. Default DefaultKeepImages.
	KeepImages int
	// ForceDelete lets `pulumi destroy` delete a repository that still holds
	// images. Default false (destroy fails while images remain).
	ForceDelete bool
	// Repository is the repository's name after the stack prefix. Default
	// DefaultRepository.
	Repository string

	Namer naming.Namer
	Tags  naming.Tags
}

// Image is the repository and the image built into it.
type Image struct {
	pulumi.ResourceState

	RepositoryURL pulumi.StringOutput `pulumi:"repositoryUrl"`
	// Ref is repository@sha256:digest, what a pod spec should name.
	Ref pulumi.StringOutput `pulumi:"ref"`
	// Tag is the source-derived tag, known before deployment.
	Tag string
}

// NewImage creates the repository and builds and pushes the image. Pass the
// regional AWS provider.
func NewImage(ctx *pulumi.Context, name string, args *Args, opts ...pulumi.ResourceOption) (*Image, error) {
	if args == nil || args.Context == "" {
		return nil, fmt.Errorf("image %s: Context is required", name)
	}
	a := *args
	if a.Dockerfile == "" {
		a.Dockerfile = "Dockerfile"
	}
	if a.Platform == "" {
		a.Platform = DefaultPlatform
	}
	if a.KeepImages == 0 {
		a.KeepImages = DefaultKeepImages
	}
	for _, p := range append([]string{a.Context}, sortedValues(a.NamedContexts)...) {
		if filepath.IsAbs(p) {
			return nil, fmt.Errorf("image %s: %s is an absolute path: pass it relative to the working directory, so that every checkout gives docker-build the same input", name, p)
		}
	}
	if _, err := os.Stat(filepath.Join(a.Context, a.Dockerfile)); err != nil {
		return nil, fmt.Errorf("image %s: no %s in %s: %w", name, a.Dockerfile, a.Context, err)
	}
	hash, err := SourceHash(Sources{Context: a.Context, Dockerfile: a.Dockerfile, Named: a.NamedContexts, Platform: a.Platform})
	if err != nil {
		return nil, fmt.Errorf("image %s: hashing the sources: %w", name, err)
	}

	img := &Image{Tag: TagPrefix + hash[:16]}
	if err := ctx.RegisterComponentResource("authplatform:image:Image", name, img, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(img)

	if a.Repository == "" {
		a.Repository = DefaultRepository
	}
	repoName := a.Namer.Name(a.Repository)
	repo, err := ecr.NewRepository(ctx, repoName, &ecr.RepositoryArgs{
		Name:               pulumi.String(repoName),
		ImageTagMutability: pulumi.String(TagMutability),
		ImageScanningConfiguration: &ecr.RepositoryImageScanningConfigurationArgs{
			ScanOnPush: pulumi.Bool(true),
		},
		// KMS with the account's aws/ecr key; ECR has no unencrypted mode,
		// but KMS makes reads auditable in CloudTrail.
		EncryptionConfigurations: ecr.RepositoryEncryptionConfigurationArray{
			&ecr.RepositoryEncryptionConfigurationArgs{EncryptionType: pulumi.String("KMS")},
		},
		ForceDelete: pulumi.Bool(a.ForceDelete),
		Tags:        pulumi.ToStringMap(a.Tags.WithName(repoName)),
	}, parent)
	if err != nil {
		return nil, err
	}
	if _, err := ecr.NewLifecyclePolicy(ctx, repoName, &ecr.LifecyclePolicyArgs{
		Repository: repo.Name,
		Policy:     pulumi.String(lifecyclePolicy(a.KeepImages)),
	}, parent); err != nil {
		return nil, err
	}

	token := ecr.GetAuthorizationTokenOutput(ctx, ecr.GetAuthorizationTokenOutputArgs{
		RegistryId: repo.RegistryId,
	}, pulumi.Parent(img))
	named := dockerbuild.ContextMap{}
	for _, k := range sortedKeys(a.NamedContexts) {
		named[k] = dockerbuild.ContextArgs{Location: pulumi.String(filepath.ToSlash(a.NamedContexts[k]))}
	}
	built, err := dockerbuild.NewImage(ctx, name, &dockerbuild.ImageArgs{
		Context: &dockerbuild.BuildContextArgs{
			Location: pulumi.String(filepath.ToSlash(a.Context)),
			Named:    named,
		},
		Dockerfile: &dockerbuild.DockerfileArgs{
			Location: pulumi.String(filepath.ToSlash(filepath.Join(a.Context, a.Dockerfile))),
		},
		Platforms: dockerbuild.PlatformArray{dockerbuild.Platform(a.Platform)},
		Tags:      pulumi.StringArray{pulumi.Sprintf("%s:%s", repo.RepositoryUrl, img.Tag)},
		Push:      pulumi.Bool(true),
		// A preview builds too, so a broken Dockerfile fails the preview
		// instead of the update; it pushes nothing.
		BuildOnPreview: pulumi.Bool(true),
		Registries: dockerbuild.RegistryArray{&dockerbuild.RegistryArgs{
			Address:  registryHost(repo.RepositoryUrl),
			Username: token.UserName(),
			Password: token.Password(),
		}},
	}, parent, pulumi.Version(PluginVersion))
	if err != nil {
		return nil, err
	}

	img.RepositoryURL = repo.RepositoryUrl
	img.Ref = pulumi.Sprintf("%s@%s", repo.RepositoryUrl, built.Digest)
	if err := ctx.RegisterResourceOutputs(img, pulumi.Map{
		"repositoryUrl": img.RepositoryURL,
		"ref":           img.Ref,
		"tag":           pulumi.String(img.Tag),
	}); err != nil {
		return nil, err
	}
	return img, nil
}

// registryHost is the registry part of a repository URL, the address
// Docker keys credentials by.
func registryHost(url pulumi.StringOutput) pulumi.StringOutput {
	return url.ApplyT(func(u string) string { host, _, _ := strings.Cut(u, "/"); return host }).(pulumi.StringOutput)
}

// lifecyclePolicy expires all but the newest keep images, tagged or not:
// an image whose tag a rebuild moved counts like any other.
func lifecyclePolicy(keep int) string {
	return fmt.Sprintf(`{"rules":[{"rulePriority":1,"description":"keep the newest %d images",`+
		`"selection":{"tagStatus":"any","countType":"imageCountMoreThan","countNumber":%d},`+
		`"action":{"type":"expire"}}]}`, keep, keep)
}

// Sources are what a build reads, as the tag is derived from them.
type Sources struct {
	// Context is the build context's directory.
	Context string
	// Dockerfile is the Dockerfile's path within Context.
	Dockerfile string
	// Named are the named contexts' directories by name.
	Named map[string]string
	// Platform the image is built for.
	Platform string
}

// SourceHash is the SHA-256 over everything docker-build's own context hash
// covers, and the platform: the Dockerfile's path and content, then for the
// context and each named context in name order, its name and every file it
// includes (Ignored left out) in path order, by relative path, mode and
// content. Directories are hashed by what they hold, not where they are,
// so every checkout of the same sources with the same modes has one hash.
// As in docker-build, a symbolic link counts with its own mode and its
// target's content.
func SourceHash(s Sources) (string, error) {
	h := sha256.New()
	fmt.Fprintf(h, "platform\x00%s\x00", s.Platform)
	df, err := os.ReadFile(filepath.Join(s.Context, s.Dockerfile))
	if err != nil {
		return "", fmt.Errorf("reading the Dockerfile: %w", err)
	}
	fmt.Fprintf(h, "dockerfile\x00%s\x00%d\x00", filepath.ToSlash(s.Dockerfile), len(df))
	h.Write(df)

	contexts := []struct{ name, dir string }{{"", s.Context}}
	for _, k := range sortedKeys(s.Named) {
		contexts = append(contexts, struct{ name, dir string }{k, s.Named[k]})
	}
	for _, c := range contexts {
		n, err := hashTree(h, c.name, c.dir)
		if err != nil {
			return "", err
		}
		if n == 0 {
			return "", fmt.Errorf("no source files in %s", c.dir)
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// hashTree adds one context to h and returns how many files it holds.
func hashTree(h io.Writer, name, dir string) (int, error) {
	type entry struct {
		rel  string
		mode fs.FileMode
	}
	var files []entry
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if rel == "." {
			return nil
		}
		if IsIgnored(rel) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.IsDir() || (!d.Type().IsRegular() && d.Type() != fs.ModeSymlink) {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		files = append(files, entry{rel, info.Mode()})
		return nil
	})
	if err != nil {
		return 0, err
	}
	sort.Slice(files, func(i, j int) bool { return files[i].rel < files[j].rel })
	fmt.Fprintf(h, "context\x00%s\x00%d\x00", name, len(files))
	for _, f := range files {
		fmt.Fprintf(h, "%s\x00%s\x00", f.rel, f.mode)
		if err := copyContent(h, filepath.Join(dir, filepath.FromSlash(f.rel))); err != nil {
			return 0, fmt.Errorf("reading %s: %w", f.rel, err)
		}
		h.Write([]byte{0})
	}
	return len(files), nil
}

// copyContent writes a file's content to h; a link to a directory has none.
func copyContent(h io.Writer, p string) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := io.Copy(h, f); err != nil && !errors.Is(err, syscall.EISDIR) {
		return err
	}
	return nil
}

// IsIgnored reports whether a slash-separated path relative to the context
// matches one of Ignored. It understands the two pattern forms Ignored
// uses: a plain path, and "**/" followed by a base-name glob.
func IsIgnored(rel string) bool {
	for _, pat := range Ignored {
		if glob, ok := strings.CutPrefix(pat, "**/"); ok {
			if m, _ := path.Match(glob, path.Base(rel)); m {
				return true
			}
			continue
		}
		if m, _ := path.Match(pat, rel); m {
			return true
		}
	}
	return false
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func sortedValues(m map[string]string) []string {
	var out []string
	for _, k := range sortedKeys(m) {
		out = append(out, m[k])
	}
	return out
}
