// Package secrets fetches the database credentials and the Redis AUTH
// token: from AWS Secrets Manager in the stack (IRSA gives the pod read
// access to exactly these two secrets), or from files for runs without AWS.
package secrets

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

// DBCredentials are what an RDS-managed secret holds.
type DBCredentials struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

// Getter returns a secret's current string value.
type Getter interface {
	GetSecretString(ctx context.Context, arn string) (string, error)
}

// SecretsManager reads secrets with the default AWS credential chain
// (IRSA's web identity token on EKS).
type SecretsManager struct{ client *secretsmanager.Client }

// NewSecretsManager builds a client for region.
func NewSecretsManager(ctx context.Context, region string) (*SecretsManager, error) {
	cfg, err := awsconfig.LoadDefaultConfig(ctx, awsconfig.WithRegion(region))
	if err != nil {
		return nil, fmt.Errorf("secrets: AWS configuration: %w", err)
	}
	return &SecretsManager{client: secretsmanager.NewFromConfig(cfg)}, nil
}

// GetSecretString implements Getter.
func (s *SecretsManager) GetSecretString(ctx context.Context, arn string) (string, error) {
	out, err := s.client.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(arn)})
	if err != nil {
		return "", fmt.Errorf("secrets: get %s: %w", arn, err)
	}
	if out.SecretString == nil {
		return "", fmt.Errorf("secrets: %s has no string value", arn)
	}
	return *out.SecretString, nil
}

// ParseDB reads an RDS-managed secret's JSON.
func ParseDB(s string) (DBCredentials, error) {
	var c DBCredentials
	if err := json.Unmarshal([]byte(s), &c); err != nil {
		return DBCredentials{}, fmt.Errorf("secrets: database secret is not JSON {\"username\",\"password\"}: %w", err)
	}
	if c.Username == "" || c.Password == "" {
		return DBCredentials{}, errors.New("secrets: database secret lacks username or password")
	}
	return c, nil
}

// ParseRedisToken reads the cache secret's JSON ({"authToken","host",
// "port","tls"}, written by components/cache) and returns the token.
func ParseRedisToken(s string) (string, error) {
	var v struct {
		AuthToken string `json:"authToken"`
	}
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		return "", fmt.Errorf("secrets: cache secret is not JSON {\"authToken\",...}: %w", err)
	}
	if v.AuthToken == "" {
		return "", errors.New("secrets: cache secret has no authToken")
	}
	return v.AuthToken, nil
}

// ReadFile reads a local secret file, trimming the trailing newline.
func ReadFile(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("secrets: %w", err)
	}
	v := strings.TrimRight(string(b), "\r\n")
	if v == "" {
		return "", fmt.Errorf("secrets: %s is empty", path)
	}
	return v, nil
}

// Cached keeps a fetched value for TTL, so that new database connections
// pick up a rotated password (RDS rotates managed secrets) without asking
// Secrets Manager for every connection. Invalidate forces the next Get to
// fetch, for after an authentication failure.
type Cached[T any] struct {
	Fetch func(context.Context) (T, error)
	TTL   time.Duration

	mu      sync.Mutex
	value   T
	fetched time.Time
}

// Get returns the cached value or fetches a new one.
func (c *Cached[T]) Get(ctx context.Context) (T, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.fetched.IsZero() && time.Since(c.fetched) < c.TTL {
		return c.value, nil
	}
	v, err := c.Fetch(ctx)
	if err != nil {
		var zero T
		return zero, err
	}
	c.value, c.fetched = v, time.Now()
	return v, nil
}

// Invalidate drops the cached value.
func (c *Cached[T]) Invalidate() {
	c.mu.Lock()
	c.fetched = time.Time{}
	c.mu.Unlock()
}

// PutSecretString stores a new current value of a secret (the migrate
// command's rotation of the application role's password).
func (s *SecretsManager) PutSecretString(ctx context.Context, arn, value string) error {
	if _, err := s.client.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String(arn), SecretString: aws.String(value)}); err != nil {
		return fmt.Errorf("secrets: put %s: %w", arn, err)
	}
	return nil
}
