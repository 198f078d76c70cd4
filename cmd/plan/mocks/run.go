package mocks

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"sync"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Secret is how a secret value is rendered.
const Secret = "[secret]"

// Unknown is how a value unknown at plan time is rendered.
const Unknown = "[unknown]"

var runMu sync.Mutex

// Program is a Pulumi program that also returns its stack outputs.
type Program func(ctx *pulumi.Context) (map[string]pulumi.Output, error)

// Result is everything one mocked run registered and exported.
type Result struct {
	Project   string
	Stack     string
	Resources []*Resource
	// Outputs are the stack outputs as plain values, secrets as Secret.
	Outputs map[string]interface{}
	Mocks   *Mocks
}

// RunOptions say what a run starts from.
type RunOptions struct {
	// Account is the AWS account the run deploys into. Nil: a fresh
	// NewAccount().
	Account *Account
	// Prior is the previous run of the same stack against Account: the
	// Pulumi state this run updates. Nil: a first run.
	Prior *Result
	// Replaced are URNs of Prior that this run replaces (the change
	// analysis decides which): they get a new ID, name suffix and ARN, as
	// a replacement does, so what reads them sees the change.
	Replaced map[string]bool
}

// Run runs program under the mocks with the given configuration (fully
// qualified keys, values as the engine passes them: structured values as
// JSON), exactly as the first `pulumi up` into a fresh account would run
// it, minus the clouds.
func Run(project, stack string, config map[string]string, secretKeys []string, program Program) (*Result, error) {
	return RunWith(RunOptions{}, project, stack, config, secretKeys, program)
}

// RunWith is Run against an account that may already hold what earlier
// runs created, updating their state: a resource whose URN is in
// opts.Prior is not created again, and what opts.Prior holds that this run
// does not register is deleted from the account at the end, as the engine
// deletes it (unless protected, which the engine refuses, or
// retainOnDelete, which leaves it in AWS).
func RunWith(opts RunOptions, project, stack string, config map[string]string, secretKeys []string, program Program) (*Result, error) {
	account := opts.Account
	if account == nil {
		account = NewAccount()
	}
	// The engine hands a program its whole configuration in PULUMI_CONFIG
	// too; programs that check for unknown keys read it there. Runs are
	// serialized because the environment is process-wide.
	runMu.Lock()
	defer runMu.Unlock()
	encoded, err := json.Marshal(config)
	if err != nil {
		return nil, err
	}
	previous, had := os.LookupEnv(pulumi.EnvConfig)
	os.Setenv(pulumi.EnvConfig, string(encoded))
	defer func() {
		if had {
			os.Setenv(pulumi.EnvConfig, previous)
		} else {
			os.Unsetenv(pulumi.EnvConfig)
		}
	}()

	mocks := newMocks(project, stack, config["aws:region"], account, opts.Prior)
	mocks.replaced = opts.Replaced
	res := &Result{Project: project, Stack: stack, Outputs: map[string]interface{}{}, Mocks: mocks}
	withConfig := func(info *pulumi.RunInfo) {
		info.Config = config
		info.ConfigSecretKeys = secretKeys
	}
	err = pulumi.RunErr(func(ctx *pulumi.Context) error {
		exports, err := program(ctx)
		if err != nil {
			return err
		}
		names := make([]string, 0, len(exports))
		for name := range exports {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			v, err := await(exports[name])
			if err != nil {
				return fmt.Errorf("output %s: %w", name, err)
			}
			res.Outputs[name] = v
		}
		return nil
	}, pulumi.WithMocks(project, stack, mocks), withConfig)
	if err != nil {
		return nil, err
	}
	res.Resources = mocks.Resources()
	if opts.Prior != nil {
		registered := map[string]bool{}
		for _, r := range res.Resources {
			registered[r.URN] = true
		}
		for _, r := range opts.Prior.Resources {
			if !registered[r.URN] && !r.Protect {
				account.remove(r.URN, r.Options.RetainOnDelete)
			}
		}
	}
	return res, nil
}

// await resolves an output to a plain value; a secret becomes Secret.
func await(o pulumi.Output) (interface{}, error) {
	values := make(chan interface{}, 1)
	o.ApplyT(func(v interface{}) (interface{}, error) {
		values <- v
		return nil, nil
	})
	if pulumi.IsSecret(o) {
		return Secret, nil
	}
	v := <-values
	pv := resource.NewPropertyValue(v)
	return Plain(pv), nil
}

// Plain converts a property value to JSON-ready Go values: secrets become
// Secret, unknowns Unknown, resource references their URN.
func Plain(v resource.PropertyValue) interface{} {
	switch {
	case v.IsSecret():
		return Secret
	case v.IsComputed():
		return Unknown
	case v.IsOutput():
		o := v.OutputValue()
		if o.Secret {
			return Secret
		}
		if !o.Known {
			return Unknown
		}
		return Plain(o.Element)
	case v.IsNull():
		return nil
	case v.IsBool():
		return v.BoolValue()
	case v.IsNumber():
		return v.NumberValue()
	case v.IsString():
		return v.StringValue()
	case v.IsArray():
		arr := v.ArrayValue()
		out := make([]interface{}, len(arr))
		for i, e := range arr {
			out[i] = Plain(e)
		}
		return out
	case v.IsObject():
		return PlainMap(v.ObjectValue())
	case v.IsResourceReference():
		return string(v.ResourceReferenceValue().URN)
	case v.IsAsset():
		a := v.AssetValue()
		return map[string]interface{}{"asset": a.Path + a.URI, "hash": a.Hash}
	case v.IsArchive():
		a := v.ArchiveValue()
		return map[string]interface{}{"archive": a.Path + a.URI, "hash": a.Hash}
	}
	return fmt.Sprint(v)
}

// PlainMap is Plain over a property map.
func PlainMap(m resource.PropertyMap) map[string]interface{} {
	out := make(map[string]interface{}, len(m))
	for k, e := range m {
		out[string(k)] = Plain(e)
	}
	return out
}
