// Package image builds the auth service from this repository into a
// container image and keeps it in a stack-owned ECR repository, so a stack
// deploys code that exists instead of an image someone must publish first.
//
// The Deployment references the pushed image by digest: a change to the
// service's sources yields a new tag and a new digest and rolls the pods;
// anything else (a README, a test, another component) leaves the image, and
// the pods, alone.
package image

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

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
	// TagPrefix marks tags derived from the sources.
	TagPrefix = "src-"
)

// Ignored lists what the image build leaves out of its context and of the
// source hash, as .dockerignore patterns; the repository's .dockerignore
// in the service directory must say exactly this (a test holds them
// together). Tests and docs do not change the binary, so they must not
// change the tag either.
var Ignored = []string{"**/*_test.go", "**/testdata", "**/*.md", "ci.sh"}

// Args configures an Image.
type Args struct {
	// SourceDir is the service's module directory, the build context.
	// Required.
	SourceDir string
	// Dockerfile within SourceDir. Default "Dockerfile".
	Dockerfile string
	// NamedContexts are further build contexts (FROM/COPY --from=name),
	// e.g. a local module the service's go.mod replaces. Default none.
	NamedContexts map[string]string
	// Platform of the image. Default DefaultPlatform.
	Platform string
	// KeepImages bounds the repository. Default DefaultKeepImages.
	KeepImages int
	// ForceDelete lets `pulumi destroy` delete a repository that still holds
	// images. Default false (destroy fails while images remain).
	ForceDelete bool

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
	if args == nil || args.SourceDir == "" {
		return nil, fmt.Errorf("image %s: SourceDir is required", name)
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
	if _, err := os.Stat(filepath.Join(a.SourceDir, a.Dockerfile)); err != nil {
		return nil, fmt.Errorf("image %s: no %s in %s: %w", name, a.Dockerfile, a.SourceDir, err)
	}
	hash, err := SourceHash(a.SourceDir)
	if err != nil {
		return nil, fmt.Errorf("image %s: hashing the sources: %w", name, err)
	}

	img := &Image{Tag: TagPrefix + hash[:16]}
	if err := ctx.RegisterComponentResource("authplatform:image:Image", name, img, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(img)

	repoName := a.Namer.Name("auth-service")
	repo, err := ecr.NewRepository(ctx, repoName, &ecr.RepositoryArgs{
		Name: pulumi.String(repoName),
		// A tag names one build for good: a pushed tag cannot be moved to
		// other code, and a rollback is a redeploy of an older commit.
		ImageTagMutability: pulumi.String("IMMUTABLE"),
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
	keys := make([]string, 0, len(a.NamedContexts))
	for k := range a.NamedContexts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		named[k] = dockerbuild.ContextArgs{Location: pulumi.String(a.NamedContexts[k])}
	}
	built, err := dockerbuild.NewImage(ctx, name, &dockerbuild.ImageArgs{
		Context: &dockerbuild.BuildContextArgs{
			Location: pulumi.String(a.SourceDir),
			Named:    named,
		},
		Dockerfile: &dockerbuild.DockerfileArgs{
			Location: pulumi.String(filepath.Join(a.SourceDir, a.Dockerfile)),
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
	}, parent)
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

// lifecyclePolicy expires all but the newest keep images.
func lifecyclePolicy(keep int) string {
	return fmt.Sprintf(`{"rules":[{"rulePriority":1,"description":"keep the newest %d images",`+
		`"selection":{"tagStatus":"any","countType":"imageCountMoreThan","countNumber":%d},`+
		`"action":{"type":"expire"}}]}`, keep, keep)
}

// SourceHash is the SHA-256 over the relative paths and contents of every
// file in dir that the build context includes (see Ignored), in path order.
func SourceHash(dir string) (string, error) {
	var files []string
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
		if d.Type().IsRegular() {
			files = append(files, rel)
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	if len(files) == 0 {
		return "", fmt.Errorf("no source files in %s", dir)
	}
	sort.Strings(files)
	h := sha256.New()
	for _, rel := range files {
		f, err := os.Open(filepath.Join(dir, filepath.FromSlash(rel)))
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "%s\x00", rel)
		_, err = io.Copy(h, f)
		f.Close()
		if err != nil {
			return "", fmt.Errorf("reading %s: %w", rel, err)
		}
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)), nil
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
