package tests

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authplatform/auth-platform/components/image"
)

const (
	ecrRepositoryType = "aws:ecr/repository:Repository"
	ecrLifecycleType  = "aws:ecr/lifecyclePolicy:LifecyclePolicy"
	dockerImageType   = "docker-build:index:Image"
)

// Without authImage every region builds the service from this repository
// into an ECR repository of its own and deploys it by digest.
func TestStacksBuildTheAuthImage(t *testing.T) {
	plans := regionPlans(t)
	require.NotEmpty(t, plans)
	for _, rp := range plans {
		t.Run(rp.name, func(t *testing.T) {
			require.Empty(t, rp.cfg.Service.Image, "shipped stacks build their image")

			repos := ofType(rp.res, ecrRepositoryType)
			require.Len(t, repos, 1)
			repo := repos[0]
			assert.Equal(t, "IMMUTABLE", str(t, repo, "imageTagMutability"), "a tag names one build for good")
			assert.Equal(t, true, value(repo.Inputs, "imageScanningConfiguration.scanOnPush"))
			enc, ok := value(repo.Inputs, "encryptionConfigurations").([]interface{})
			require.True(t, ok)
			require.Len(t, enc, 1)
			assert.Equal(t, "KMS", enc[0].(map[string]interface{})["encryptionType"])
			assert.Equal(t, rp.cfg.Teardown.ForceDestroy, value(repo.Inputs, "forceDelete"),
				"a protected stack keeps its images on destroy")
			assert.Equal(t, rp.cfg.Region, repo.Region, "the repository is in the region whose pods pull from it")
			url := repo.Outputs["repositoryUrl"].StringValue()
			assert.Regexp(t, `^\d{12}\.dkr\.ecr\.`+regexp.QuoteMeta(rp.cfg.Region)+`\.amazonaws\.com/[a-z0-9-]+$`, url)

			lifecycle := ofType(rp.res, ecrLifecycleType)
			require.Len(t, lifecycle, 1)
			assert.Equal(t, repo.ID, str(t, lifecycle[0], "repository"))
			assert.Contains(t, str(t, lifecycle[0], "policy"), `"countType":"imageCountMoreThan"`)

			builds := ofType(rp.res, dockerImageType)
			require.Len(t, builds, 1)
			build := builds[0]
			assert.Equal(t, true, value(build.Inputs, "push"))
			assert.Equal(t, []string{"linux/amd64"}, stringList(t, build, "platforms"), "EKS on Fargate runs x86_64 pods")
			ctxDir := str(t, build, "context.location")
			assert.Equal(t, filepath.Join(repoRoot(t), "cmd", "auth-service"), ctxDir)
			assert.Equal(t, filepath.Join(repoRoot(t), "tests", "realparts"), str(t, build, "context.named.realparts.location"))
			assert.Equal(t, filepath.Join(ctxDir, "Dockerfile"), str(t, build, "dockerfile.location"))
			tags := stringList(t, build, "tags")
			require.Len(t, tags, 1)
			assert.Regexp(t, `^`+regexp.QuoteMeta(url)+`:src-[0-9a-f]{16}$`, tags[0], "the tag follows the sources")
			registries, ok := value(build.Inputs, "registries").([]interface{})
			require.True(t, ok)
			require.Len(t, registries, 1)
			assert.Equal(t, strings.SplitN(url, "/", 2)[0], registries[0].(map[string]interface{})["address"],
				"credentials for the repository's registry")

			deployments := ofType(rp.res, deploymentType)
			require.NotEmpty(t, deployments)
			digest := build.Outputs["digest"].StringValue()
			require.Regexp(t, `^sha256:[0-9a-f]{64}$`, digest)
			for _, d := range deployments {
				containers, ok := value(d.Inputs, "spec.template.spec.containers").([]interface{})
				require.True(t, ok)
				require.NotEmpty(t, containers)
				assert.Equal(t, url+"@"+digest, containers[0].(map[string]interface{})["image"],
					"%s runs the pushed build by digest", d.Name)
			}
		})
	}
}

// authImage brings an image: no repository, no build, the Deployment runs
// exactly that reference.
func TestBringYourOwnImage(t *testing.T) {
	const byo = "registry.example.com/team/auth-service:2.3.4"
	cfg, secrets := stackConfig(t, "dev")
	res, err := runProgram(t, "dev", withConfig(cfg, map[string]string{"auth-platform:authImage": byo}), secrets)
	require.NoError(t, err)
	assert.Empty(t, ofType(res, ecrRepositoryType))
	assert.Empty(t, ofType(res, ecrLifecycleType))
	assert.Empty(t, ofType(res, dockerImageType))
	deployments := ofType(res, deploymentType)
	require.NotEmpty(t, deployments)
	for _, d := range deployments {
		containers := value(d.Inputs, "spec.template.spec.containers").([]interface{})
		assert.Equal(t, byo, containers[0].(map[string]interface{})["image"])
	}
}

// The tag changes with the code and with nothing else.
func TestSourceHashFollowsTheCodeOnly(t *testing.T) {
	dir := t.TempDir()
	write := func(rel, body string) {
		t.Helper()
		p := filepath.Join(dir, filepath.FromSlash(rel))
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(body), 0o644))
	}
	write("go.mod", "module x\n")
	write("main.go", "package main\n")
	write("internal/store/store.go", "package store\n")
	write("internal/store/migrations/0001_init.sql", "create table t();\n")
	base, err := image.SourceHash(dir)
	require.NoError(t, err)
	require.Len(t, base, 64)

	unchanged := []struct{ name, rel, body string }{
		{"a test", "internal/store/store_test.go", "package store\n"},
		{"test data", "internal/store/testdata/x.json", "{}"},
		{"a README", "README.md", "# x\n"},
		{"the CI script", "ci.sh", "#!/bin/sh\n"},
	}
	for _, c := range unchanged {
		write(c.rel, c.body)
		h, err := image.SourceHash(dir)
		require.NoError(t, err)
		assert.Equal(t, base, h, "%s must not change the image", c.name)
	}
	changed := []struct{ name, rel, body string }{
		{"the code", "main.go", "package main\n\nfunc main() {}\n"},
		{"a migration", "internal/store/migrations/0001_init.sql", "create table u();\n"},
		{"a new file", "internal/store/more.go", "package store\n"},
		{"the module", "go.mod", "module y\n"},
	}
	prev := base
	for _, c := range changed {
		write(c.rel, c.body)
		h, err := image.SourceHash(dir)
		require.NoError(t, err)
		assert.NotEqual(t, prev, h, "%s must change the image", c.name)
		prev = h
	}
}

// The build context leaves out exactly what the hash leaves out: otherwise a
// test-only change rebuilds under an existing, immutable tag.
func TestDockerignoreMatchesTheSourceHash(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(repoRoot(t), "cmd", "auth-service", ".dockerignore"))
	require.NoError(t, err)
	var lines []string
	for _, l := range strings.Split(string(b), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			lines = append(lines, l)
		}
	}
	assert.Equal(t, image.Ignored, lines)
}

// The image runs as the UID the pod spec enforces, and builds a static
// binary for the platform Fargate runs.
func TestDockerfileFitsThePod(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(repoRoot(t), "cmd", "auth-service", "Dockerfile"))
	require.NoError(t, err)
	df := string(b)
	assert.Regexp(t, `(?m)^USER 10001:10001$`, df, "components/authservice runs the container as 10001")
	assert.Regexp(t, `(?m)^FROM \S+ AS build$`, df)
	assert.Regexp(t, `(?m)^FROM gcr\.io/distroless/static`, df, "a minimal final image without a shell")
	assert.Contains(t, df, "CGO_ENABLED=0")
	assert.Contains(t, df, "GOARCH=amd64")
	assert.Contains(t, df, "COPY --from=realparts", "the go.mod's replace target must be in the build")
	assert.Regexp(t, `(?m)^ENV DB_CA_FILE=/etc/ssl/rds/global-bundle\.pem$`, df, "the service verifies Aurora against the RDS CAs")
	assert.Regexp(t, `(?m)^ENTRYPOINT \["/auth-service"\]$`, df)
}
