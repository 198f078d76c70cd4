package database

import (
	"encoding/json"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/secretsmanager"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// AppRoleName is the PostgreSQL role the auth service connects as (review
// M5): the migrate step (cmd/auth-service migrate, the authservice
// component's Job) creates it with only the privileges the service needs
// and keeps its password in the application secret. The master user is
// the migrate step's alone.
const AppRoleName = "auth_app"

// appSecret is the application role's secret, encrypted with the
// cluster's key. The stack writes only the user name: the password is
// made by the migrate step, which sets it on the role and then stores it
// here (and renews it on --rotate-app-password, RDS's order), so it is
// never in Pulumi's state and a later `pulumi up` does not put back an
// old value (secretString is ignored after creation).
func appSecret(ctx *pulumi.Context, a *Args, keyArn pulumi.StringOutput, opts ...pulumi.ResourceOption) (*secretsmanager.Secret, error) {
	recovery := 7
	if a.Protect {
		recovery = 30
	}
	name := a.Namer.Name("db-app")
	secret, err := secretsmanager.NewSecret(ctx, name, &secretsmanager.SecretArgs{
		Description:          pulumi.String("PostgreSQL role " + AppRoleName + " of " + a.Namer.Prefix() + ": the auth service's own credentials (kept by its migrate step)"),
		KmsKeyId:             keyArn,
		RecoveryWindowInDays: pulumi.Int(recovery),
		Tags:                 pulumi.ToStringMap(a.Tags.WithName(name)),
	}, append(opts, pulumi.Protect(a.Protect))...)
	if err != nil {
		return nil, err
	}
	initial, _ := json.Marshal(map[string]string{"username": AppRoleName, "password": ""})
	if _, err := secretsmanager.NewSecretVersion(ctx, name, &secretsmanager.SecretVersionArgs{
		SecretId:     secret.ID(),
		SecretString: pulumi.String(string(initial)),
	}, append(opts, pulumi.IgnoreChanges([]string{"secretString"}))...); err != nil {
		return nil, err
	}
	return secret, nil
}
