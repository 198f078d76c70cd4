package tests

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/blang/semver"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authplatform/auth-platform/cmd/plan/mocks"
	"github.com/authplatform/auth-platform/components/image"
	"github.com/authplatform/auth-platform/stacks"
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
	root := repoRoot(t)
	wd, err := os.Getwd()
	require.NoError(t, err)
	wantTag := image.TagPrefix + sourceHash(t, root)[:16]
	for _, rp := range plans {
		t.Run(rp.name, func(t *testing.T) {
			require.Empty(t, rp.cfg.Service.Image, "shipped stacks build their image")

			repos := authImageOnly(ofType(rp.res, ecrRepositoryType))
			require.Len(t, repos, 1)
			repo := repos[0]
			assert.Equal(t, "MUTABLE", str(t, repo, "imageTagMutability"),
				"a rebuild of sources built before (a rollback, an image a refresh dropped) overwrites their tag instead of failing")
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

			lifecycle := authImageOnly(ofType(rp.res, ecrLifecycleType))
			require.Len(t, lifecycle, 1)
			assert.Equal(t, repo.ID, str(t, lifecycle[0], "repository"))
			assert.Contains(t, str(t, lifecycle[0], "policy"), `"countType":"imageCountMoreThan"`)
			assert.Contains(t, str(t, lifecycle[0], "policy"), `"tagStatus":"any"`, "an image whose tag moved expires by count too")

			builds := authImageOnly(ofType(rp.res, dockerImageType))
			require.Len(t, builds, 1)
			build := builds[0]
			assert.Equal(t, true, value(build.Inputs, "push"))
			assert.Equal(t, []string{"linux/amd64"}, stringList(t, build, "platforms"), "EKS on Fargate runs x86_64 pods")
			ctxDir := str(t, build, "context.location")
			named := str(t, build, "context.named.realparts.location")
			for _, loc := range []string{ctxDir, named} {
				assert.False(t, filepath.IsAbs(loc), "%s: an absolute path differs between checkouts", loc)
			}
			assert.Equal(t, filepath.Join(root, "cmd", "auth-service"), filepath.Join(wd, ctxDir), "relative to the working directory")
			assert.Equal(t, filepath.Join(root, "tests", "realparts"), filepath.Join(wd, named))
			assert.Equal(t, ctxDir+"/Dockerfile", str(t, build, "dockerfile.location"))
			tags := stringList(t, build, "tags")
			require.Len(t, tags, 1)
			assert.Equal(t, url+":"+wantTag, tags[0], "the tag follows what the build reads")
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
					"%s runs the pushed build by digest: a moved tag never changes what runs", d.Name)
			}
		})
	}
}

// authImage brings an image: no repository, no build, the Deployment runs
// exactly that reference.
func TestBringYourOwnImage(t *testing.T) {
	const byo = "registry.example.com/team/auth-service:2.3.4"
	cfg, secrets := stackConfig(t, "dev")
	res, err := runProgram(t, "dev", withConfig(cfg, map[string]string{"auth-platform:authImage": byo,
		"auth-platform:patchWindowImage": "registry.example.com/team/patch-window:1.0.0"}), secrets)
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

// The refresh trigger: the v0.0.15 plugin's Image.Read dropped the image
// from the state when the ECR token stored there had expired (12 hours
// after an up). The SDK in go.mod stays v0.0.15; the resource asks the
// engine for the plugin with the fix, v0.0.21 or later.
func TestTheImageAsksForADockerBuildPluginThatKeepsItOnARefresh(t *testing.T) {
	fixed := semver.MustParse("0.0.21") // pulumi-docker-build#930, first released in v0.0.21
	v, err := semver.Parse(image.PluginVersion)
	require.NoError(t, err)
	assert.True(t, v.GTE(fixed), "plugin %s predates the Image.Read fix", v)

	for _, rp := range regionPlans(t) {
		builds := authImageOnly(ofType(rp.res, dockerImageType))
		require.Len(t, builds, 1, rp.name)
		assert.Equal(t, image.PluginVersion, builds[0].Version, "%s: the engine loads the plugin version the resource asks for", rp.name)
		for _, r := range rp.res.Resources {
			if strings.HasPrefix(r.Type, "docker-build:") {
				assert.Equal(t, image.PluginVersion, r.Version, "%s %s: one plugin version for every docker-build resource", rp.name, r.Name)
			}
		}
	}
}

// checkout copies what the program reads from disk into a new directory:
// another clone of the repository, as CI's workspace is after a laptop's.
func checkout(t *testing.T) string {
	t.Helper()
	root := repoRoot(t)
	dir := t.TempDir()
	copyFile := func(rel string) {
		b, err := os.ReadFile(filepath.Join(root, rel))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dir, rel), b, 0o644))
	}
	copyFile("Pulumi.yaml")
	for _, rel := range []string{stacks.ServiceSourceDir, stacks.RealPartsDir, stacks.PatchWindowSourceDir} {
		require.NoError(t, os.CopyFS(filepath.Join(dir, rel), os.DirFS(filepath.Join(root, rel))))
	}
	return dir
}

// imageInputs plans dev from a checkout, as the engine runs the program: in
// the project directory.
func imageInputs(t *testing.T, dir string, cfg map[string]string, secrets []string) *mocks.Resource {
	t.Helper()
	t.Chdir(dir)
	res, err := runProgram(t, "dev", cfg, secrets)
	require.NoError(t, err)
	builds := authImageOnly(ofType(res, dockerImageType))
	require.Len(t, builds, 1)
	return builds[0]
}

// Each trigger of review 2 (L-1) that the plan can show, from two clones:
// docker-build rebuilds when an input it compares literally, or its hash of
// the build context, changes. The inputs are the same in every checkout;
// the tag changes whenever docker-build's hash would (named context, file
// modes); and a rebuild of sources built before (a rollback) reuses their
// tag, which the repository lets it overwrite.
func TestImageInputsFollowTheSourcesNotTheCheckout(t *testing.T) {
	cfg, secrets := stackConfig(t, "dev")
	base := imageInputs(t, checkout(t), cfg, secrets)
	repo := func(dir string) *mocks.Resource {
		t.Helper()
		t.Chdir(dir)
		res, err := runProgram(t, "dev", cfg, secrets)
		require.NoError(t, err)
		repos := authImageOnly(ofType(res, ecrRepositoryType))
		require.Len(t, repos, 1)
		return repos[0]
	}
	appendTo := func(rel, text string) func(t *testing.T, dir string) {
		return func(t *testing.T, dir string) {
			f, err := os.OpenFile(filepath.Join(dir, filepath.FromSlash(rel)), os.O_APPEND|os.O_WRONLY, 0)
			require.NoError(t, err)
			_, err = f.WriteString(text)
			require.NoError(t, err)
			require.NoError(t, f.Close())
		}
	}
	cases := []struct {
		name    string
		change  func(t *testing.T, dir string)
		newTag  bool
		message string
	}{
		{"another checkout path", func(*testing.T, string) {}, false,
			"CI's clone after a laptop's: the same sources, the same inputs, no rebuild"},
		{"a file mode (umask 002)", func(t *testing.T, dir string) {
			require.NoError(t, os.Chmod(filepath.Join(dir, stacks.ServiceSourceDir, "main.go"), 0o664))
		}, true, "docker-build hashes modes: a rebuild it makes gets a tag of its own"},
		{"a change under tests/realparts", appendTo(stacks.RealPartsDir+"/ports.go", "\n// changed\n"), true,
			"the named context is in docker-build's hash, and in the tag"},
		{"a test-only change under tests/realparts", appendTo(stacks.RealPartsDir+"/realparts_test.go", "\n// changed\n"), false,
			"the context's .dockerignore leaves tests out of the named context too: no rebuild, no new tag"},
		{"a README next to the service", appendTo(stacks.ServiceSourceDir+"/README.md", "\nchanged\n"), false,
			"ignored by the build and the tag alike"},
		{"the Dockerfile", appendTo(stacks.ServiceSourceDir+"/Dockerfile", "\n# changed\n"), true,
			"the Dockerfile is read by the build"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := checkout(t)
			tc.change(t, dir)
			got := imageInputs(t, dir, cfg, secrets)
			for _, path := range []string{"context.location", "context.named.realparts.location", "dockerfile.location"} {
				assert.Equal(t, value(base.Inputs, path), value(got.Inputs, path), "%s must not depend on the checkout", path)
			}
			assert.Equal(t, value(base.Inputs, "platforms"), value(got.Inputs, "platforms"))
			if tc.newTag {
				assert.NotEqual(t, value(base.Inputs, "tags"), value(got.Inputs, "tags"), tc.message)
			} else {
				assert.Equal(t, value(base.Inputs, "tags"), value(got.Inputs, "tags"), tc.message)
			}
		})
	}

	t.Run("a rollback", func(t *testing.T) {
		dir := checkout(t)
		main := filepath.Join(dir, stacks.ServiceSourceDir, "main.go")
		before, err := os.ReadFile(main)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(main, append(append([]byte(nil), before...), "\n// the next commit\n"...), 0o644))
		next := imageInputs(t, dir, cfg, secrets)
		require.NotEqual(t, value(base.Inputs, "tags"), value(next.Inputs, "tags"))
		require.NoError(t, os.WriteFile(main, before, 0o644))
		back := imageInputs(t, dir, cfg, secrets)
		assert.Equal(t, value(base.Inputs, "tags"), value(back.Inputs, "tags"),
			"the older sources get their old tag back, and it is still in the repository")
		assert.Equal(t, image.TagMutability, str(t, repo(dir), "imageTagMutability"))
		assert.Equal(t, "MUTABLE", image.TagMutability,
			"so the repository must let the rebuild overwrite that tag, or the up fails with ImageTagAlreadyExistsException")
	})
}

// sourceHash is the tag's hash of this repository's service build.
func sourceHash(t *testing.T, root string) string {
	t.Helper()
	h, err := image.SourceHash(image.Sources{
		Context:    filepath.Join(root, stacks.ServiceSourceDir),
		Dockerfile: "Dockerfile",
		Named:      map[string]string{"realparts": filepath.Join(root, stacks.RealPartsDir)},
		Platform:   image.DefaultPlatform,
	})
	require.NoError(t, err)
	return h
}

// The tag changes with what the build reads (docker-build's context hash:
// the Dockerfile, every file of the context and of the named contexts by
// path, content and mode) and with nothing else.
func TestSourceHashFollowsWhatTheBuildReads(t *testing.T) {
	type tree struct{ service, parts string }
	setup := func(t *testing.T) (tree, image.Sources) {
		tr := tree{t.TempDir(), t.TempDir()}
		for rel, body := range map[string]string{
			"Dockerfile": "FROM scratch\n", "go.mod": "module x\n", "main.go": "package main\n",
			"internal/store/store.go": "package store\n", "internal/store/migrations/0001_init.sql": "create table t();\n",
		} {
			writeFile(t, filepath.Join(tr.service, rel), body, 0o644)
		}
		writeFile(t, filepath.Join(tr.parts, "go.mod"), "module parts\n", 0o644)
		writeFile(t, filepath.Join(tr.parts, "redis.go"), "package parts\n", 0o644)
		return tr, image.Sources{Context: tr.service, Dockerfile: "Dockerfile", Named: map[string]string{"parts": tr.parts}, Platform: image.DefaultPlatform}
	}
	hash := func(t *testing.T, s image.Sources) string {
		t.Helper()
		h, err := image.SourceHash(s)
		require.NoError(t, err)
		require.Len(t, h, 64)
		return h
	}

	type change func(t *testing.T, tr tree, s *image.Sources)
	service := func(tr tree) string { return tr.service }
	parts := func(tr tree) string { return tr.parts }
	write := func(dir func(tree) string, rel, body string) change {
		return func(t *testing.T, tr tree, _ *image.Sources) { writeFile(t, filepath.Join(dir(tr), rel), body, 0o644) }
	}
	chmod := func(dir func(tree) string, rel string, mode os.FileMode) change {
		return func(t *testing.T, tr tree, _ *image.Sources) {
			require.NoError(t, os.Chmod(filepath.Join(dir(tr), rel), mode))
		}
	}
	cases := []struct {
		name    string
		change  change
		changes bool
	}{
		{"a test", write(service, "internal/store/store_test.go", "package store\n"), false},
		{"test data", write(service, "internal/store/testdata/x.json", "{}"), false},
		{"a README", write(service, "README.md", "# x\n"), false},
		{"the CI script", write(service, "ci.sh", "#!/bin/sh\n"), false},
		{"a test of a named context", write(parts, "redis_test.go", "package parts\n"), false},
		{"the directories' location", func(t *testing.T, tr tree, s *image.Sources) {
			moved := filepath.Join(t.TempDir(), "elsewhere")
			require.NoError(t, os.Rename(tr.service, moved))
			s.Context = moved
		}, false},

		{"the code", write(service, "main.go", "package main\n\nfunc main() {}\n"), true},
		{"a migration", write(service, "internal/store/migrations/0001_init.sql", "create table u();\n"), true},
		{"a new file", write(service, "internal/store/more.go", "package store\n"), true},
		{"a renamed file", func(t *testing.T, tr tree, _ *image.Sources) {
			require.NoError(t, os.Rename(filepath.Join(tr.service, "main.go"), filepath.Join(tr.service, "app.go")))
		}, true},
		{"the module", write(service, "go.mod", "module y\n"), true},
		{"the Dockerfile", write(service, "Dockerfile", "FROM busybox\n"), true},
		{"a file's mode", chmod(service, "main.go", 0o664), true},
		{"a named context's code", write(parts, "redis.go", "package parts\n\nconst x = 1\n"), true},
		{"a named context's mode", chmod(parts, "redis.go", 0o755), true},
		{"a named context's name", func(t *testing.T, tr tree, s *image.Sources) { s.Named = map[string]string{"other": tr.parts} }, true},
		{"the platform", func(t *testing.T, tr tree, s *image.Sources) { s.Platform = "linux/arm64" }, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tr, s := setup(t)
			before := hash(t, s)
			tc.change(t, tr, &s)
			if tc.changes {
				assert.NotEqual(t, before, hash(t, s), "%s must change the tag", tc.name)
			} else {
				assert.Equal(t, before, hash(t, s), "%s must not change the tag", tc.name)
			}
		})
	}
}

func writeFile(t *testing.T, p, body string, mode os.FileMode) {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
	require.NoError(t, os.WriteFile(p, []byte(body), mode))
	require.NoError(t, os.Chmod(p, mode)) // whatever the umask
}

// The build context leaves out exactly what the hash leaves out: otherwise a
// test-only change rebuilds the image under its existing tag.
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
// binary for the platform Fargate runs; the build stage runs on the
// builder's platform and cross-compiles (review 2, C-2).
func TestDockerfileFitsThePod(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(repoRoot(t), "cmd", "auth-service", "Dockerfile"))
	require.NoError(t, err)
	df := string(b)
	assert.Regexp(t, `(?m)^USER 10001:10001$`, df, "components/authservice runs the container as 10001")
	assert.Regexp(t, `(?m)^FROM --platform=\$BUILDPLATFORM \S+ AS build$`, df,
		"the Go toolchain runs natively on the builder, not under emulation on an arm64 laptop")
	assert.Regexp(t, `(?m)^ARG TARGETOS TARGETARCH$`, df, "the automatic platform ARGs are declared in the build stage")
	assert.Regexp(t, `GOOS=\$TARGETOS GOARCH=\$TARGETARCH go build`, df, "the binary is for the image's platform")
	assert.NotContains(t, df, "GOARCH=amd64", "the target comes from the build's platform (components/image), not from the Dockerfile")
	assert.Regexp(t, `(?m)^FROM gcr\.io/distroless/static`, df, "a minimal final image without a shell, of the target platform")
	assert.Contains(t, df, "CGO_ENABLED=0")
	assert.Contains(t, df, "COPY --from=realparts", "the go.mod's replace target must be in the build")
	assert.Regexp(t, `(?m)^ENV DB_CA_FILE=/etc/ssl/rds/global-bundle\.pem$`, df, "the service verifies Aurora against the RDS CAs")
	assert.Regexp(t, `(?m)^ENTRYPOINT \["/auth-service"\]$`, df)
}

// README's image section says what the code does: mutable tags and why, the
// plugin version, and no longer that tags are immutable.
func TestREADMEStatesTheImageDesign(t *testing.T) {
	section := strings.Join(strings.Fields(readmeSection(t, "### The auth image (")), " ")
	assert.Contains(t, section, "auth-service` (see \"Names\") with "+strings.ToLower(image.TagMutability)+" tags")
	assert.Contains(t, section, "ImageTagAlreadyExistsException")
	assert.Contains(t, section, "plugin v"+image.PluginVersion+" asked for by the resource")
	assert.NotContains(t, section, "an existing, immutable tag", "the repository's tags are "+image.TagMutability)
	assert.Contains(t, section, "`FROM --platform=$BUILDPLATFORM`")
}

// authImageOnly leaves out the patch-window job's image (issue 27), which
// the stacks build the same way into a repository of its own.
func authImageOnly(rs []*mocks.Resource) []*mocks.Resource {
	var out []*mocks.Resource
	for _, r := range rs {
		if !strings.Contains(r.Name, "patch-window") {
			out = append(out, r)
		}
	}
	return out
}
