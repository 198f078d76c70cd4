// Command auth-platform is the Pulumi program for the authentication
// platform. Started by the Pulumi engine it deploys the stack; started as
// `go run . plan` it renders the same program offline, under mocks.
package main

import (
	"os"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/authplatform/auth-platform/cmd/deployrole"
	"github.com/authplatform/auth-platform/cmd/plan"
	"github.com/authplatform/auth-platform/stacks"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "plan" {
		os.Exit(plan.Main(os.Args[2:], os.Stdout, os.Stderr))
	}
	if len(os.Args) > 1 && os.Args[1] == "deploy-role-policy" {
		os.Exit(deployrole.Main(os.Args[2:], os.Stdout, os.Stderr))
	}
	pulumi.Run(stacks.Program)
}
