package authservice

import (
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/apiextensions"
	batchv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/batch/v1"
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/authplatform/auth-platform/components/iamdoc"
)

// The migration step (review M5): a Job that runs `auth-service migrate`
// with the master secret, before the Deployments roll. Not an init
// container: that would run with the pods' service account, so every
// serving pod could read the master secret, and it would migrate once per
// pod start, holding each pod's readiness on it. The Job's own service
// account may read the master secret and read and write the application
// secret (the migrate step keeps the role's password there), nothing else.

// MigrateName names the migration step's ServiceAccount, its
// SecurityGroupPolicy and its pods' app.kubernetes.io/name; never Name, so
// that the Service, the PDB and the target group never select its pods.
const MigrateName = "auth-migrate"

// The Job's bounds: a few retries (the database may still be starting),
// then `pulumi up` fails with the Job instead of rolling the pods onto a
// schema that is not there.
const (
	MigrateBackoffLimit    = 4
	MigrateDeadlineSeconds = 900
)

// MigrateSecretsPolicy lets the migration step read the master secret,
// read and write the application secret, and use their key only through
// Secrets Manager.
func MigrateSecretsPolicy(region, masterSecretArn, appSecretArn, kmsKeyArn string) iamdoc.Document {
	return iamdoc.New(
		iamdoc.Allow("ReadMasterAndAppSecrets",
			[]string{"secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"},
			uniqueSorted([]string{masterSecretArn, appSecretArn})...),
		iamdoc.Allow("WriteAppSecret", []string{"secretsmanager:PutSecretValue"}, appSecretArn),
		iamdoc.Allow("UseTheirKey", []string{"kms:Decrypt", "kms:GenerateDataKey"}, kmsKeyArn).
			When("StringEquals", "kms:ViaService", "secretsmanager."+region+".amazonaws.com"),
	)
}

// migrationJob creates the step's IRSA role, ServiceAccount,
// SecurityGroupPolicy (its pods need the pods' group to reach Aurora) and
// the Job; the Deployments depend on the Job. The Job's template changes
// with the image or the ConfigMap, and a Job's template is immutable, so
// Pulumi replaces it: every new image is migrated before its pods roll.
func (s *Service) migrationJob(ctx *pulumi.Context, a *Args, n func(...string) string, namespace pulumi.StringOutput,
	objectLabels pulumi.StringMap, configMap pulumi.StringOutput, after []pulumi.Resource, parent pulumi.ResourceOption) (pulumi.Resource, error) {
	role, err := iam.NewRole(ctx, n("migrate-irsa"), &iam.RoleArgs{
		Description:      pulumi.String("Auth service migration step (IRSA): master secret, application secret"),
		AssumeRolePolicy: iamdoc.IRSATrustOutput(a.OIDCProviderARN, a.OIDCIssuerURL, a.Namespace, MigrateName),
		Tags:             pulumi.ToStringMap(a.Tags.WithName(n("migrate-irsa"))),
	}, parent)
	if err != nil {
		return nil, err
	}
	policy := pulumi.All(a.DatabaseSecretArn, a.AppDatabaseSecretArn, a.DatabaseKmsKeyArn).ApplyT(func(v []interface{}) (string, error) {
		return MigrateSecretsPolicy(a.Region, v[0].(string), v[1].(string), v[2].(string)).JSON()
	}).(pulumi.StringOutput)
	rp, err := iam.NewRolePolicy(ctx, n("migrate-irsa"), &iam.RolePolicyArgs{Role: role.Name, Policy: policy}, parent)
	if err != nil {
		return nil, err
	}
	labels := pulumi.StringMap{
		"app.kubernetes.io/name":     pulumi.String(MigrateName),
		"app.kubernetes.io/instance": pulumi.String(a.Namer.Prefix()),
		// The first zone's Fargate profile selects it (every profile
		// selects one zone's label).
		ZoneLabel: pulumi.String(a.Zones[0]),
	}
	meta := mergeLabels(objectLabels, pulumi.StringMap{"app.kubernetes.io/name": pulumi.String(MigrateName)})
	sa, err := corev1.NewServiceAccount(ctx, n("migrate-sa"), &corev1.ServiceAccountArgs{
		Metadata: &metav1.ObjectMetaArgs{
			Name: pulumi.String(MigrateName), Namespace: namespace, Labels: meta,
			Annotations: pulumi.StringMap{
				"eks.amazonaws.com/role-arn":               role.Arn,
				"eks.amazonaws.com/sts-regional-endpoints": pulumi.String("true"),
			},
		},
		AutomountServiceAccountToken: pulumi.Bool(false),
	}, parent)
	if err != nil {
		return nil, err
	}
	sgp, err := apiextensions.NewCustomResource(ctx, n("migrate-sgp"), &apiextensions.CustomResourceArgs{
		ApiVersion: pulumi.String(SecurityGroupPolicyAPIVersion),
		Kind:       pulumi.String(SecurityGroupPolicyKind),
		Metadata:   &metav1.ObjectMetaArgs{Name: pulumi.String(MigrateName), Namespace: namespace, Labels: meta},
		OtherFields: kubernetes.UntypedArgs{
			"spec": pulumi.Map{
				"podSelector": pulumi.Map{"matchLabels": pulumi.StringMap{
					"app.kubernetes.io/name":     pulumi.String(MigrateName),
					"app.kubernetes.io/instance": pulumi.String(a.Namer.Prefix()),
				}},
				"securityGroups": pulumi.Map{
					"groupIds": pulumi.StringArray{a.PodSecurityGroupID.ToStringOutput(), a.ClusterSecurityGroupID.ToStringOutput()},
				},
			},
		},
	}, parent)
	if err != nil {
		return nil, err
	}
	resources := pulumi.StringMap{"cpu": pulumi.String(a.Size.CPU()), "memory": pulumi.String(a.Size.Memory())}
	job, err := batchv1.NewJob(ctx, n("migrate"), &batchv1.JobArgs{
		Metadata: &metav1.ObjectMetaArgs{Namespace: namespace, Labels: meta},
		Spec: &batchv1.JobSpecArgs{
			BackoffLimit:          pulumi.Int(MigrateBackoffLimit),
			ActiveDeadlineSeconds: pulumi.Int(MigrateDeadlineSeconds),
			Template: &corev1.PodTemplateSpecArgs{
				Metadata: &metav1.ObjectMetaArgs{Labels: mergeLabels(meta, labels)},
				Spec: &corev1.PodSpecArgs{
					ServiceAccountName:           sa.Metadata.Name().Elem(),
					AutomountServiceAccountToken: pulumi.Bool(false),
					RestartPolicy:                pulumi.String("Never"),
					SecurityContext:              podSecurityContext(),
					Containers: corev1.ContainerArray{corev1.ContainerArgs{
						Name:            pulumi.String("migrate"),
						Image:           a.Image,
						ImagePullPolicy: pulumi.String("IfNotPresent"),
						Args:            pulumi.StringArray{pulumi.String("migrate")},
						EnvFrom: corev1.EnvFromSourceArray{corev1.EnvFromSourceArgs{
							ConfigMapRef: &corev1.ConfigMapEnvSourceArgs{Name: configMap},
						}},
						// env overrides envFrom: the master secret here only.
						Env: corev1.EnvVarArray{
							corev1.EnvVarArgs{Name: pulumi.String("DB_SECRET_ARN"), Value: a.DatabaseSecretArn},
							corev1.EnvVarArgs{Name: pulumi.String("APP_DB_SECRET_ARN"), Value: a.AppDatabaseSecretArn},
						},
						Resources:       &corev1.ResourceRequirementsArgs{Requests: resources, Limits: resources},
						SecurityContext: containerSecurityContext(),
					}},
				},
			},
		},
	}, parent, pulumi.DependsOn(append([]pulumi.Resource{sgp, rp}, after...)),
		pulumi.Timeouts(&pulumi.CustomTimeouts{Create: RolloutTimeout, Update: RolloutTimeout}))
	if err != nil {
		return nil, err
	}
	return job, nil
}

func podSecurityContext() *corev1.PodSecurityContextArgs {
	return &corev1.PodSecurityContextArgs{
		RunAsNonRoot: pulumi.Bool(true),
		RunAsUser:    pulumi.Int(RunAsUser),
		RunAsGroup:   pulumi.Int(RunAsUser),
		// Lets the non-root process read the projected IRSA token.
		FsGroup:        pulumi.Int(RunAsUser),
		SeccompProfile: &corev1.SeccompProfileArgs{Type: pulumi.String("RuntimeDefault")},
	}
}

func containerSecurityContext() *corev1.SecurityContextArgs {
	return &corev1.SecurityContextArgs{
		AllowPrivilegeEscalation: pulumi.Bool(false),
		ReadOnlyRootFilesystem:   pulumi.Bool(true),
		RunAsNonRoot:             pulumi.Bool(true),
		Capabilities:             &corev1.CapabilitiesArgs{Drop: pulumi.StringArray{pulumi.String("ALL")}},
	}
}
