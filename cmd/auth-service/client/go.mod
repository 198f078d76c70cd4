module github.com/authplatform/auth-platform/cmd/auth-service/client

go 1.26.6

require github.com/stretchr/testify v1.12.1

require go.yaml.in/yaml/v3 v3.0.5 // indirect
