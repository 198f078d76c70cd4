module github.com/authplatform/auth-platform/cmd/auth-service/client/e2e

go 1.26.6

require (
	github.com/authplatform/auth-platform/cmd/auth-service/client v0.0.0
	github.com/authplatform/auth-platform/tests/realparts v0.0.0
	github.com/stretchr/testify v1.12.1
)

require go.yaml.in/yaml/v3 v3.0.5 // indirect

replace (
	github.com/authplatform/auth-platform/cmd/auth-service/client => ../
	github.com/authplatform/auth-platform/tests/realparts => ../../../../tests/realparts
)
