// Package deployrole prints the deploy role's IAM policy
// (components/deployrole) as JSON, to attach to the role CI assumes.
package deployrole

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"

	"github.com/authplatform/auth-platform/components/deployrole"
)

// Main runs `deploy-role-policy` and returns the exit code.
func Main(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("deploy-role-policy", flag.ContinueOnError)
	fs.SetOutput(stderr)
	app := fs.String("app", "auth", "the stacks' appName; IAM names the program gives start with it")
	partition := fs.String("partition", "aws", "AWS partition: aws, aws-cn or aws-us-gov")
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "usage: go run . deploy-role-policy [--app NAME] [--partition aws]")
		return 2
	}
	b, err := json.MarshalIndent(deployrole.Policy(*partition, *app), "", "  ")
	if err != nil {
		fmt.Fprintln(stderr, "deploy-role-policy:", err)
		return 3
	}
	fmt.Fprintln(stdout, string(b))
	return 0
}
