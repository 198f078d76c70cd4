module github.com/authplatform/auth-platform/tests/realparts

go 1.26.6
