module github.com/authplatform/auth-platform/cmd/patch-window

go 1.26.6
