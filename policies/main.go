// Command policies is the auth platform's CrossGuard policy pack. The Pulumi
// CLI builds and starts it (PulumiPolicy.yaml: runtime go) for
//
//	pulumi preview --policy-pack policies
//	pulumi up --policy-pack policies
//
// The policies themselves live in policies/rules, shared with the offline
// plan (go run . plan); policies/pack serves them through policyx.
package main

import (
	"fmt"
	"os"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/policyx"

	"github.com/authplatform/auth-platform/policies/pack"
)

func main() {
	if err := policyx.Main(pack.New); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
