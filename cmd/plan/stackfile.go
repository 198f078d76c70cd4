package plan

// Stack files read as the Pulumi CLI reads them (issue 28 item 3).
//
// `pulumi preview` and `pulumi up` (github.com/pulumi/pulumi/pkg/v3
// v3.274.1, the release of the SDK in go.mod) take a stack's configuration
// in two steps before the program runs:
//
//  1. cmd/pulumi/config/io.go GetStackConfiguration -> cmd/pulumi/stack/
//     io.go:52 LoadProjectStack -> sdk/go/common/workspace/loaders.go:151
//     LoadProjectStack: yaml.v3 into `any` (duplicated mapping keys are
//     errors there), SimplifyMarshalledProject (the file must be a mapping
//     with string keys), stackConfigNamespacedWithProject (loaders.go:61:
//     `key:` becomes `<project>:key`), then the ProjectStack struct:
//     config.Map.UnmarshalYAML and config.ParseKey (resource/config/map.go:
//     310, key.go:45: `<namespace>:<name>` or the old
//     `<namespace>:config:<name>`), and object.UnmarshalYAML, where only a
//     one-key mapping `{secure: <string>}` is a secret (object.go:541). Every
//     other top-level key of the file is ignored (ProjectStack has
//     secretsprovider, encryptedkey, encryptionsalt, config and
//     environment). An error here is "getting stack configuration: ..."
//     (cmd/pulumi/operations/up.go:189).
//  2. pkg/workspace/config.go:368 ValidateStackConfigAndApplyProjectConfig
//     (mergeConfig, :255): the project's defaults fill the keys the stack
//     does not set, a key without a default is "missing", then every value
//     is decrypted (:79) and each explicitly typed project key is checked
//     against its type (validateStackConfigValue, :119, with the SDK's
//     workspace.ValidateConfigValue). An error here is "validating stack
//     config: ..." (up.go:221).
//
// The plan calls the SDK for step 1 itself, so it refuses exactly what the
// CLI refuses, and ports step 2 (pkg/v3 is not a dependency of this
// module: it would bring the whole CLI's module graph) using the SDK's own
// pieces (config.Map.Get/Set, Value.Value, ValidateConfigValue,
// InferFullTypeName). Each refusal is told in words, naming the key, and
// quotes the CLI's own error. Secrets cannot be decrypted offline: the
// decrypter here checks each ciphertext's shape the way the stack's secrets
// provider would before decrypting (see shapeCrypter) and passes
// stacks.EncryptedPlaceholder on.
//
// What the CLI accepts but the plan tells about: keys outside config: (the
// CLI ignores them: a warning), ESC environments (not opened offline: a
// warning), and two spellings of one key (`dbReaders` and
// `auth-platform:dbReaders`), of which the CLI keeps one at random (Go map
// order in stackConfigNamespacedWithProject and Map.UnmarshalYAML): a
// refusal, since no run can be said to be what `pulumi up` does.

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/diag"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/config"
	"github.com/pulumi/pulumi/sdk/v3/go/common/workspace"
	"gopkg.in/yaml.v3"

	"github.com/authplatform/auth-platform/stacks"
)

// Project is the part of Pulumi.yaml the plan needs.
type Project struct {
	Name           string                   `yaml:"name"`
	Runtime        interface{}              `yaml:"runtime"`
	Description    string                   `yaml:"description"`
	StackConfigDir string                   `yaml:"stackConfigDir"`
	Config         map[string]ProjectConfig `yaml:"config"`

	// sdk is the project as the Pulumi CLI loads it.
	sdk *workspace.Project
}

// ProjectConfig is one key of the project-level config schema.
type ProjectConfig struct {
	Type        string      `yaml:"type"`
	Description string      `yaml:"description"`
	Default     interface{} `yaml:"default"`
	Items       *struct {
		Type string `yaml:"type"`
	} `yaml:"items"`
}

// LoadProject reads Pulumi.yaml, refusing what the Pulumi CLI refuses
// (workspace.LoadProject: the project JSON schema and Project.Validate).
func LoadProject(path string) (*Project, error) {
	sdkProject, err := workspace.LoadProject(path)
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var p Project
	if err := yaml.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if p.StackConfigDir == "" {
		p.StackConfigDir = "."
	}
	p.sdk = sdkProject
	return &p, nil
}

// StackFile is a stack file read the way the Pulumi CLI reads it, plus
// what only the file tells: which values were encrypted and how scalars
// were written (YAML turns an unquoted 1.30 into the number 1.3).
type StackFile struct {
	Config     map[string]string
	SecretKeys []string
	Literals   map[string]stacks.Literal
	// Written are the keys the file sets itself.
	Written map[string]bool
	// Warnings are what the CLI would warn about and what it silently
	// ignores in the file.
	Warnings []string
}

// Source is the file as the configuration reader sees it.
func (f *StackFile) Source() stacks.FileSource {
	secrets := map[string]bool{}
	for _, k := range f.SecretKeys {
		secrets[k] = true
	}
	return stacks.FileSource{Values: f.Config, Secrets: secrets, Literals: f.Literals, Written: f.Written}
}

// LoadStackConfig reads a stack file and merges the project defaults, the
// way the Pulumi CLI prepares configuration for the program. Values come
// out as the engine passes them: scalars as text, lists and maps as JSON.
// Encrypted values, which the plan cannot decrypt, come out as
// stacks.EncryptedPlaceholder.
func LoadStackConfig(path string, project *Project) (map[string]string, []string, error) {
	f, err := LoadStackFile(path, project)
	if err != nil {
		return nil, nil, err
	}
	return f.Config, f.SecretKeys, nil
}

// LoadStackFile reads a stack file as `pulumi up` does (see the file's
// comment) and keeps what the file alone tells. A file the CLI refuses is a
// *stacks.ConfigError naming each mistake and quoting the CLI.
func LoadStackFile(path string, project *Project) (*StackFile, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading stack configuration: %w", err)
	}
	if project.sdk == nil {
		return nil, errors.New("plan: the project was not read with LoadProject")
	}
	sink := &warningSink{}
	ps, err := workspace.LoadProjectStack(sink, project.sdk, path)
	if err != nil {
		return nil, refusal(path, project.Name, b, "getting stack configuration: "+err.Error())
	}
	f := &StackFile{Config: map[string]string{}, Literals: map[string]stacks.Literal{}, Written: map[string]bool{}, Warnings: sink.warnings}

	var doc yaml.Node
	_ = yaml.Unmarshal(b, &doc) // the CLI has parsed it already
	var problems []stacks.Problem
	if top := topMapping(&doc); top != nil {
		f.Warnings = append(f.Warnings, ignoredTopLevel(path, top)...)
		if cfg := child(top, "config"); cfg != nil && cfg.Kind == yaml.MappingNode {
			problems = append(problems, ambiguousKeys(project.Name, cfg)...)
			for i := 0; i+1 < len(cfg.Content); i += 2 {
				if k, err := normalKey(project.Name, cfg.Content[i].Value); err == nil {
					recordLiterals(f.Literals, k, cfg.Content[i+1])
				}
			}
		}
	}
	for k := range ps.Config {
		f.Written[k.String()] = true
	}
	stack := StackNameOf(path)
	if err := applyProjectDefaults(stack, project, ps.Config); err != nil {
		problems = append(problems, fileProblem(path, "the Pulumi CLI refuses the stack: validating stack config: "+oneLine(err), "set the missing keys in the file or give them a default in Pulumi.yaml"))
	}
	crypter := crypterFor(ps)
	keys := make([]config.Key, 0, len(ps.Config))
	for k := range ps.Config {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].String() < keys[j].String() })
	for _, k := range keys {
		v := ps.Config[k]
		text, err := v.Value(crypter)
		if err != nil {
			problems = append(problems, stacks.Problem{Key: k.String(), Value: "(encrypted)",
				Message: fmt.Sprintf("the stack's secrets provider (%s) cannot decrypt it; the Pulumi CLI refuses the stack: validating stack config: %s", crypter.provider, strings.TrimPrefix(oneLine(err), ": ")),
				Fix:     fmt.Sprintf("set it again with `pulumi config set --secret %s <value>` on a machine that can decrypt the stack's other secrets", k.String())})
			continue
		}
		f.Config[k.String()] = text
		if v.Secure() {
			f.SecretKeys = append(f.SecretKeys, k.String())
		}
	}
	problems = append(problems, typeProblems(stack, project, ps.Config, f.Config)...)
	if len(problems) > 0 {
		return nil, &stacks.ConfigError{Problems: problems}
	}
	return f, nil
}

// applyProjectDefaults is mergeConfig's first half (pkg/workspace/
// config.go:297-351): a project key the stack does not set takes its
// value or default, in Map.Set's path form; a project key of the project's
// namespace with neither is missing.
func applyProjectDefaults(stack string, project *Project, cfg config.Map) error {
	names := make([]string, 0, len(project.sdk.Config))
	for name := range project.sdk.Config {
		names = append(names, name)
	}
	sort.Strings(names)
	var missing []string
	for _, name := range names {
		pct := project.sdk.Config[name]
		key, err := projectKey(project.Name, name)
		if err != nil {
			return err
		}
		_, found, err := cfg.Get(key, true)
		if err != nil {
			return fmt.Errorf("getting stack config value for key '%v': %w", key.String(), err)
		}
		if found {
			continue
		}
		switch {
		case pct.Value != nil || pct.Default != nil:
			raw := pct.Default
			if pct.Value != nil {
				raw = pct.Value
			}
			v, err := configValue(raw)
			if err != nil {
				return err
			}
			if err := cfg.Set(key, v, true); err != nil {
				return err
			}
		case key.Namespace() == project.Name:
			missing = append(missing, "'"+name+"'")
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("Stack '%v' is missing configuration value%s %s", stack, map[bool]string{true: "s"}[len(missing) > 1], strings.Join(missing, ", "))
	}
	return nil
}

// projectKey is parseConfigKey (pkg/workspace/config.go:159).
func projectKey(projectName, name string) (config.Key, error) {
	if strings.Contains(name, ":") {
		return config.ParseKey(name)
	}
	return config.MustMakeKey(projectName, name), nil
}

// configValue is createConfigValue (pkg/workspace/config.go:179).
func configValue(raw interface{}) (config.Value, error) {
	switch raw.(type) {
	case string, int, bool:
		return config.NewValue(fmt.Sprintf("%v", raw)), nil
	}
	v, err := workspace.SimplifyMarshalledValue(raw)
	if err != nil {
		return config.Value{}, err
	}
	b, err := json.Marshal(v)
	if err != nil {
		return config.Value{}, err
	}
	return config.NewObjectValue(string(b)), nil
}

// typeProblems is validateStackConfigValue (pkg/workspace/config.go:119)
// for every explicitly typed project key, all at once where the CLI stops
// at the first. An encrypted value is not checked: the plan cannot see it
// (the reader checks a placeholder of its shape instead).
func typeProblems(stack string, project *Project, cfg config.Map, values map[string]string) []stacks.Problem {
	names := make([]string, 0, len(project.sdk.Config))
	for name := range project.sdk.Config {
		names = append(names, name)
	}
	sort.Strings(names)
	var out []stacks.Problem
	for _, name := range names {
		pct := project.sdk.Config[name]
		key, err := projectKey(project.Name, name)
		if err != nil || !pct.IsExplicitlyTyped() {
			continue
		}
		v, _, err := cfg.Get(key, true)
		if err != nil {
			continue
		}
		shown := values[key.String()]
		if pct.Secret && !v.Secure() {
			out = append(out, cliTypeProblem(key.String(), shown,
				fmt.Sprintf("Stack '%v' with configuration key '%v' must be encrypted as it's secret", stack, name),
				fmt.Sprintf("set it with `pulumi config set --secret %s <value>`", key.String())))
			continue
		}
		if v.Secure() {
			continue
		}
		var content interface{} = shown
		if v.Object() {
			if err := json.Unmarshal([]byte(shown), &content); err != nil {
				out = append(out, cliTypeProblem(key.String(), shown, err.Error(), "write a YAML value"))
				continue
			}
		}
		if !workspace.ValidateConfigValue(*pct.Type, pct.Items, content) {
			typeName := workspace.InferFullTypeName(*pct.Type, pct.Items)
			out = append(out, cliTypeProblem(key.String(), shown,
				fmt.Sprintf("Stack '%v' with configuration key '%v' must be of type '%v'", stack, name, typeName),
				typeFix(name, typeName, pct.Default)))
		}
	}
	return out
}

func cliTypeProblem(key, value, cli, fix string) stacks.Problem {
	return stacks.Problem{Key: key, Value: value, Set: true,
		Message: "the Pulumi CLI refuses the stack before the program runs: validating stack config: " + cli, Fix: fix}
}

// typeFix says how to write a value of the type.
func typeFix(name, typeName string, def interface{}) string {
	switch typeName {
	case "integer":
		return fmt.Sprintf("set a whole number, e.g. %s: %v", name, def)
	case "boolean":
		return "set true or false"
	case "string":
		return fmt.Sprintf("write one value, quoted if YAML would read it otherwise, e.g. %s: \"%v\"", name, def)
	case "array<integer>":
		return fmt.Sprintf("write a YAML list of whole numbers, e.g. %s: [1]", name)
	case "array<object>":
		return fmt.Sprintf("write a YAML list of mappings, e.g. %s: [{region: us-east-1}, {region: us-west-2}]", name)
	}
	return fmt.Sprintf("write a YAML list of strings, e.g. %s: [a, b]", name)
}

// shapeCrypter stands in for the stack's secrets provider: it checks a
// ciphertext the way the provider's decrypter does before it decrypts, and
// answers stacks.EncryptedPlaceholder.
//   - Pulumi Cloud (no encryptionsalt, encryptedkey or secretsprovider in
//     the file): pkg/v3 secrets/service/manager.go:91 base64-decodes the
//     ciphertext before asking the service.
//   - passphrase (encryptionsalt) and cloud KMS providers (encryptedkey):
//     both decrypt with config.symmetricCrypter (sdk resource/config/
//     crypt.go:189; secrets/cloud/manager.go:120), which wants
//     "v1:<base64 12-byte nonce>:<base64 ciphertext>".
type shapeCrypter struct {
	provider string
	check    func(string) error
}

func (c shapeCrypter) DecryptValue(_ context.Context, ciphertext string) (string, error) {
	if err := c.check(ciphertext); err != nil {
		return "", err
	}
	return stacks.EncryptedPlaceholder, nil
}

func (c shapeCrypter) BatchDecrypt(ctx context.Context, ciphertexts []string) ([]string, error) {
	return config.DefaultBatchDecrypt(ctx, c, ciphertexts)
}

func crypterFor(ps *workspace.ProjectStack) shapeCrypter {
	if ps.EncryptionSalt == "" && ps.EncryptedKey == "" && (ps.SecretsProvider == "" || ps.SecretsProvider == "default" || ps.SecretsProvider == "service") {
		return shapeCrypter{provider: "Pulumi Cloud", check: func(s string) error {
			_, err := base64.StdEncoding.DecodeString(s)
			return err
		}}
	}
	provider := "passphrase"
	if ps.EncryptedKey != "" {
		provider = ps.SecretsProvider
	}
	return shapeCrypter{provider: provider, check: symmetricShape}
}

// symmetricShape is symmetricCrypter.DecryptValue up to the decryption
// itself, with its error texts.
func symmetricShape(value string) error {
	vals := strings.Split(value, ":")
	if len(vals) != 3 {
		return errors.New("bad value")
	}
	if vals[0] != "v1" {
		return errors.New("unknown value version")
	}
	nonce, err := base64.StdEncoding.DecodeString(vals[1])
	if err != nil {
		return fmt.Errorf("bad value: %w", err)
	}
	if _, err := base64.StdEncoding.DecodeString(vals[2]); err != nil {
		return fmt.Errorf("bad value: %w", err)
	}
	if len(nonce) != 12 { // AES-256-GCM's standard nonce
		return errors.New("bad value: nonce size is incorrect")
	}
	return nil
}

// warningSink keeps the CLI's warnings (checkForEmptyConfig) for the plan
// to print.
type warningSink struct {
	diag.Sink
	warnings []string
}

func (s *warningSink) Warningf(d *diag.Diag, args ...interface{}) {
	s.warnings = append(s.warnings, oneLine(errors.New(fmt.Sprintf(d.Message, args...))))
}

func (s *warningSink) Logf(sev diag.Severity, d *diag.Diag, args ...interface{}) {
	if sev == diag.Warning {
		s.Warningf(d, args...)
	}
}
func (s *warningSink) Debugf(*diag.Diag, ...interface{})     {}
func (s *warningSink) Infof(*diag.Diag, ...interface{})      {}
func (s *warningSink) Infoerrf(*diag.Diag, ...interface{})   {}
func (s *warningSink) Errorf(d *diag.Diag, a ...interface{}) { s.Warningf(d, a...) }

// projectStackFields are the top-level keys ProjectStack reads
// (sdk/go/common/workspace/project.go, ProjectStack); yaml.v3 ignores any
// other.
var projectStackFields = map[string]bool{"secretsprovider": true, "encryptedkey": true, "encryptionsalt": true, "config": true, "environment": true}

// ignoredTopLevel warns about what the CLI reads but the plan cannot
// (ESC environments) and what it ignores (every other top-level key).
func ignoredTopLevel(path string, top *yaml.Node) []string {
	var stray []string
	var out []string
	for i := 0; i+1 < len(top.Content); i += 2 {
		k := top.Content[i]
		switch {
		case k.Value == "environment":
			out = append(out, fmt.Sprintf("%s imports ESC environments (environment:, line %d): `pulumi up` merges their pulumiConfig into the configuration; the offline plan does not open them, so it plans the file's own values only", filepath.Base(path), k.Line))
		case !projectStackFields[k.Value]:
			stray = append(stray, fmt.Sprintf("%s (line %d)", k.Value, k.Line))
		}
	}
	if len(stray) > 0 {
		out = append(out, fmt.Sprintf("%s at the top level of the file: the Pulumi CLI reads only config:, environment:, secretsprovider:, encryptedkey: and encryptionsalt: there and ignores the rest, so they set nothing; indent them under config: if they are configuration", strings.Join(stray, ", ")))
	}
	return out
}

// ambiguousKeys finds one key written twice in different spellings
// (`dbReaders`, `auth-platform:dbReaders`, `auth-platform:config:dbReaders`).
func ambiguousKeys(project string, cfg *yaml.Node) []stacks.Problem {
	type seen struct {
		raw  string
		line int
	}
	first := map[string]seen{}
	var out []stacks.Problem
	for i := 0; i+1 < len(cfg.Content); i += 2 {
		k := cfg.Content[i]
		key, err := normalKey(project, k.Value)
		if err != nil {
			continue
		}
		if s, dup := first[key]; dup && s.raw != k.Value {
			out = append(out, stacks.Problem{Key: key, Value: cfg.Content[i+1].Value,
				Message: fmt.Sprintf("written twice, as %s (line %d) and %s (line %d): the Pulumi CLI accepts the file but keeps one of the two at random (Go map order when it namespaces the keys), so no plan can say which `pulumi up` would use", s.raw, s.line, k.Value, k.Line),
				Fix:     "keep one of the two lines"})
			continue
		}
		first[key] = seen{k.Value, k.Line}
	}
	return out
}

// normalKey is the key the CLI makes of a key written under config:.
func normalKey(project, raw string) (string, error) {
	if !strings.Contains(raw, ":") {
		raw = project + ":" + raw
	}
	k, err := config.ParseKey(raw)
	if err != nil {
		return "", err
	}
	return k.String(), nil
}

// refusal explains, in words and key by key, why the CLI refused the file,
// and quotes the CLI.
func refusal(path, project string, b []byte, cli string) error {
	problems := describeRefusal(path, project, b)
	if len(problems) == 0 {
		problems = []stacks.Problem{fileProblem(path, "the Pulumi CLI refuses the file", "fix what the CLI names")}
	}
	for i := range problems {
		problems[i].Message += "; the Pulumi CLI says: " + cliWords.Replace(oneLine(errors.New(cli)))
	}
	return &stacks.ConfigError{Problems: problems}
}

// describeRefusal reads the YAML itself to name what the CLI refused.
func describeRefusal(path, project string, b []byte) []stacks.Problem {
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return []stacks.Problem{fileProblem(path, "not valid YAML: "+strings.TrimPrefix(err.Error(), "yaml: "),
			"fix the YAML syntax; a stack file is a mapping with a config: section")}
	}
	if len(doc.Content) == 0 {
		return nil
	}
	top := doc.Content[0]
	var out []stacks.Problem
	out = append(out, duplicates(path, project, top, "")...)
	const shape = "write a mapping with a config: section, e.g.\n      config:\n        aws:region: us-east-1\n        auth-platform:authImage: ghcr.io/authplatform/auth-service:1.0.0"
	if top.Kind != yaml.MappingNode {
		return append(out, fileProblem(path, fmt.Sprintf("the file holds %s, not a mapping with a config: section", yamlKinds[top.Kind]), shape))
	}
	cfg := child(top, "config")
	if cfg == nil || cfg.Tag == "!!null" {
		return out
	}
	if cfg.Kind != yaml.MappingNode {
		return append(out, fileProblem(path, fmt.Sprintf("config: holds %s, not a mapping of keys to values", yamlKinds[cfg.Kind]),
			"write each setting as key: value under config:, without a leading '- '"))
	}
	for i := 0; i+1 < len(cfg.Content); i += 2 {
		k := cfg.Content[i]
		if _, err := normalKey(project, k.Value); err != nil || k.Tag != "!!str" {
			out = append(out, stacks.Problem{Key: k.Value, Value: cfg.Content[i+1].Value,
				Message: fmt.Sprintf("line %d: not a configuration key: a key is <namespace>:<name> (e.g. %s:dbReaders, aws:region), or a name alone for this project's namespace", k.Line, project),
				Fix:     "write the key as <namespace>:<name>, e.g. " + project + ":dbReaders"})
		}
	}
	return out
}

// duplicates finds mapping keys written twice anywhere in the file, named
// by where they are (a config key qualified as the CLI qualifies it).
func duplicates(path, project string, n *yaml.Node, at string) []stacks.Problem {
	var out []stacks.Problem
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			out = append(out, duplicates(path, project, c, at)...)
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			out = append(out, duplicates(path, project, c, fmt.Sprintf("%s[%d]", at, i))...)
		}
	case yaml.MappingNode:
		lines := map[string]int{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			name := k.Value
			switch {
			case at == "config":
				if q, err := normalKey(project, k.Value); err == nil {
					name = q
				}
			case at != "":
				name = at + "." + k.Value
			}
			if line, dup := lines[k.Value]; dup {
				out = append(out, stacks.Problem{Key: name, Value: v.Value,
					Message: fmt.Sprintf("set twice in the file, on lines %d and %d", line, k.Line),
					Fix:     "keep one of the two"})
			} else {
				lines[k.Value] = k.Line
			}
			next := name
			if at == "" && k.Value == "config" {
				next = "config"
			}
			out = append(out, duplicates(path, project, v, next)...)
		}
	}
	return out
}

func topMapping(doc *yaml.Node) *yaml.Node {
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return nil
	}
	return doc.Content[0]
}

// child is the value of key in a mapping (the last one, as yaml.v3 decodes).
func child(m *yaml.Node, key string) *yaml.Node {
	var out *yaml.Node
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			out = m.Content[i+1]
		}
	}
	return out
}

// fileProblem is a problem of the stack file as a whole.
func fileProblem(path, message, fix string) stacks.Problem {
	return stacks.Problem{Key: filepath.Base(path), Message: message, Fix: fix, File: true}
}

// yamlKinds names YAML node kinds in words.
var yamlKinds = map[yaml.Kind]string{
	yaml.SequenceNode: "a list", yaml.ScalarNode: "a single value", yaml.MappingNode: "a mapping", yaml.AliasNode: "an alias",
}

// recordLiterals keeps how non-string scalars were written: for the key
// itself, and for the keys of `regions` entries as key[i].name.
func recordLiterals(out map[string]stacks.Literal, full string, n *yaml.Node) {
	switch n.Kind {
	case yaml.ScalarNode:
		if n.Tag != "!!str" {
			out[full] = stacks.Literal{Tag: n.Tag, Text: n.Value}
		}
	case yaml.SequenceNode:
		for i, item := range n.Content {
			if item.Kind != yaml.MappingNode {
				continue
			}
			for j := 0; j+1 < len(item.Content); j += 2 {
				recordLiterals(out, fmt.Sprintf("%s[%d].%s", full, i, item.Content[j].Value), item.Content[j+1])
			}
		}
	}
}

// cliWords are the CLI error's Go types and YAML tags, told in words: the
// CLI's reason is quoted, but a user reads a list, not !!seq.
var cliWords = strings.NewReplacer(
	"!!seq", "a list", "!!map", "a mapping", "!!str", "a string", "!!int", "an integer",
	"!!float", "a number", "!!bool", "a boolean", "!!null", "nothing",
	"map[string]config.Value", "the configuration's keys and values",
	"'[]interface {}'", "a list", "'string'", "a single value")

// oneLine keeps an error on the problem's line.
func oneLine(err error) string { return strings.Join(strings.Fields(err.Error()), " ") }
