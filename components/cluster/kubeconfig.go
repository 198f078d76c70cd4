package cluster

import "encoding/json"

// Signer is how `aws eks get-token` in the kubeconfig gets the credentials
// it signs the token with. The cluster's creator and the access entries
// are IAM principals that the explicit AWS provider authenticates as, from
// the stack's aws: settings; the Kubernetes provider only sees the
// kubeconfig, so the same settings go into its exec block (arguments the
// AWS CLI's get-token and global options take, and environment variables
// its credential chain reads). The zero value is the host's default chain.
//
// Sources: aws-cli awscli/customizations/eks/get_token.py (get-token takes
// --cluster-name, --role-arn and the global --region/--profile; --role-arn
// is AssumeRole with the session name EKSGetTokenAuth and nothing else);
// botocore credentials.py (EnvProvider ignores an empty
// AWS_ACCESS_KEY_ID; an explicit --profile removes the environment
// provider from the chain; AWS_ROLE_ARN with AWS_WEB_IDENTITY_TOKEN_FILE is
// AssumeRoleWithWebIdentity); pulumi-eks v2.8.1 nodejs/eks/cluster.ts:207-228
// (its own kubeconfig passes --role and AWS_PROFILE the same way).
type Signer struct {
	// Profile is a shared-config profile: --profile. Unlike AWS_PROFILE
	// it wins over access keys in the host's environment, as a
	// configured profile does in the AWS provider.
	Profile string
	// RoleArn is assumed on top of the other credentials: --role-arn.
	RoleArn string
	// ConfigFile and CredentialsFile replace ~/.aws/config and
	// ~/.aws/credentials: AWS_CONFIG_FILE, AWS_SHARED_CREDENTIALS_FILE.
	ConfigFile, CredentialsFile string
	// WebIdentityRoleArn, WebIdentityTokenFile and WebIdentitySessionName
	// are AssumeRoleWithWebIdentity: AWS_ROLE_ARN,
	// AWS_WEB_IDENTITY_TOKEN_FILE (an empty one keeps the host's) and
	// AWS_ROLE_SESSION_NAME.
	WebIdentityRoleArn, WebIdentityTokenFile, WebIdentitySessionName string
	// AccessKey, SecretKey and SessionToken are static credentials:
	// AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN. They
	// end up in the kubeconfig, which the component keeps secret.
	AccessKey, SecretKey, SessionToken string
}

// execArgs are get-token's arguments for a cluster in region.
func (s Signer) execArgs(clusterName, region string) []string {
	args := []string{"eks", "get-token", "--cluster-name", clusterName, "--region", region, "--output", "json"}
	// Static keys and web identity take precedence over a profile in the
	// provider; --profile would make the CLI ignore the keys given below.
	if s.Profile != "" && s.AccessKey == "" && s.WebIdentityRoleArn == "" {
		args = append(args, "--profile", s.Profile)
	}
	if s.RoleArn != "" {
		args = append(args, "--role-arn", s.RoleArn)
	}
	return args
}

// execEnv is the exec block's environment, in a fixed order so that the
// kubeconfig (an input of the Kubernetes provider) never changes by itself.
func (s Signer) execEnv() []map[string]string {
	var env []map[string]string
	set := func(name, value string) {
		env = append(env, map[string]string{"name": name, "value": value})
	}
	if s.ConfigFile != "" {
		set("AWS_CONFIG_FILE", s.ConfigFile)
	}
	if s.CredentialsFile != "" {
		set("AWS_SHARED_CREDENTIALS_FILE", s.CredentialsFile)
	}
	switch {
	case s.AccessKey != "":
		set("AWS_ACCESS_KEY_ID", s.AccessKey)
		set("AWS_SECRET_ACCESS_KEY", s.SecretKey)
		// Empty clears a token of the host's that belongs to other keys.
		set("AWS_SESSION_TOKEN", s.SessionToken)
	case s.WebIdentityRoleArn != "":
		// Keys in the host's environment would come first in the CLI's
		// chain; empty values switch them off.
		set("AWS_ACCESS_KEY_ID", "")
		set("AWS_SECRET_ACCESS_KEY", "")
		set("AWS_SESSION_TOKEN", "")
		set("AWS_ROLE_ARN", s.WebIdentityRoleArn)
		if s.WebIdentityTokenFile != "" {
			set("AWS_WEB_IDENTITY_TOKEN_FILE", s.WebIdentityTokenFile)
		}
		if s.WebIdentitySessionName != "" {
			set("AWS_ROLE_SESSION_NAME", s.WebIdentitySessionName)
		}
	}
	return env
}

// Kubeconfig renders a kubeconfig that authenticates with
// `aws eks get-token` as signer says, naming the region explicitly so that
// a multi-region deployment never reaches the wrong cluster.
func Kubeconfig(clusterName, region, endpoint, caData string, signer Signer) (string, error) {
	user := "aws-" + clusterName
	exec := map[string]interface{}{
		"apiVersion":         "client.authentication.k8s.io/v1beta1",
		"command":            "aws",
		"args":               signer.execArgs(clusterName, region),
		"interactiveMode":    "Never",
		"provideClusterInfo": false,
	}
	if env := signer.execEnv(); len(env) > 0 {
		exec["env"] = env
	}
	cfg := map[string]interface{}{
		"apiVersion":      "v1",
		"kind":            "Config",
		"current-context": clusterName,
		"clusters": []interface{}{map[string]interface{}{
			"name":    clusterName,
			"cluster": map[string]interface{}{"server": endpoint, "certificate-authority-data": caData},
		}},
		"contexts": []interface{}{map[string]interface{}{
			"name":    clusterName,
			"context": map[string]interface{}{"cluster": clusterName, "user": user},
		}},
		"users": []interface{}{map[string]interface{}{
			"name": user,
			"user": map[string]interface{}{"exec": exec},
		}},
	}
	b, err := json.Marshal(cfg)
	return string(b), err
}
