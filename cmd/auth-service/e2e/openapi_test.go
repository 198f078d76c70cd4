package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/authplatform/auth-platform/cmd/auth-service/internal/httpapi"
)

// openAPI is the part of openapi.yaml the test reads.
type openAPI struct {
	Paths      map[string]map[string]any `yaml:"paths"`
	Components struct {
		Schemas   map[string]map[string]any `yaml:"schemas"`
		Responses map[string]map[string]any `yaml:"responses"`
		Headers   map[string]map[string]any `yaml:"headers"`
	} `yaml:"components"`
}

var operationMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

// documented is one documented response: an operation and a status.
type documented struct {
	method, path string
	status       int
	response     map[string]any
}

func (d documented) key() string { return fmt.Sprintf("%s %s %d", d.method, d.path, d.status) }

func loadOpenAPI(t *testing.T) (*openAPI, []documented) {
	t.Helper()
	b, err := os.ReadFile("../openapi.yaml")
	require.NoError(t, err)
	var doc openAPI
	require.NoError(t, yaml.Unmarshal(b, &doc))
	var out []documented
	for path, item := range doc.Paths {
		for _, m := range operationMethods {
			op, ok := item[m].(map[string]any)
			if !ok {
				continue
			}
			responses, _ := op["responses"].(map[string]any)
			require.NotEmpty(t, responses, "%s %s documents no response", m, path)
			for code, r := range responses {
				status, err := strconv.Atoi(code)
				require.NoError(t, err, "%s %s: status %q (give every status; no ranges, no default)", m, path, code)
				resp := doc.resolve(t, r.(map[string]any))
				out = append(out, documented{method: strings.ToUpper(m), path: path, status: status, response: resp})
			}
		}
	}
	return &doc, out
}

// resolve follows a local $ref.
func (d *openAPI) resolve(t *testing.T, v map[string]any) map[string]any {
	t.Helper()
	ref, ok := v["$ref"].(string)
	if !ok {
		return v
	}
	parts := strings.Split(strings.TrimPrefix(ref, "#/components/"), "/")
	require.Len(t, parts, 2, ref)
	var found map[string]any
	switch parts[0] {
	case "schemas":
		found = d.Components.Schemas[parts[1]]
	case "responses":
		found = d.Components.Responses[parts[1]]
	case "headers":
		found = d.Components.Headers[parts[1]]
	}
	require.NotNil(t, found, "unresolved %s", ref)
	return d.resolve(t, found)
}

// checkedKeywords are the schema keywords validate checks; any other in
// the document fails the test, so that the document cannot promise what
// nothing holds it to.
var checkedKeywords = []string{"$ref", "type", "properties", "required", "additionalProperties", "items", "enum", "format",
	"pattern", "minLength", "maxLength", "description"}

// validate checks v (decoded JSON) against schema; errors name where.
func (d *openAPI) validate(t *testing.T, schema map[string]any, v any, at string) []string {
	t.Helper()
	for k := range schema {
		require.Contains(t, checkedKeywords, k, "%s: schema keyword %q is not checked by this test", at, k)
	}
	schema = d.resolve(t, schema)
	var errs []string
	bad := func(format string, args ...any) { errs = append(errs, at+": "+fmt.Sprintf(format, args...)) }
	switch schema["type"] {
	case "object":
		obj, ok := v.(map[string]any)
		if !ok {
			bad("want an object, got %T", v)
			return errs
		}
		props, _ := schema["properties"].(map[string]any)
		required, _ := schema["required"].([]any)
		for _, r := range required {
			if _, ok := obj[r.(string)]; !ok {
				bad("required field %q missing", r)
			}
		}
		for k, val := range obj {
			p, ok := props[k].(map[string]any)
			if !ok {
				if schema["additionalProperties"] == false {
					bad("field %q is not documented", k)
				}
				continue
			}
			errs = append(errs, d.validate(t, p, val, at+"."+k)...)
		}
	case "array":
		arr, ok := v.([]any)
		if !ok {
			bad("want an array, got %T", v)
			return errs
		}
		for i, item := range arr {
			errs = append(errs, d.validate(t, schema["items"].(map[string]any), item, fmt.Sprintf("%s[%d]", at, i))...)
		}
	case "integer":
		if f, ok := v.(float64); !ok || f != float64(int64(f)) {
			bad("want an integer, got %v", v)
		}
	case "boolean":
		if _, ok := v.(bool); !ok {
			bad("want a boolean, got %v", v)
		}
	case "string":
		s, ok := v.(string)
		if !ok {
			bad("want a string, got %v", v)
			return errs
		}
		errs = append(errs, checkString(schema, s, at)...)
	default:
		bad("schema type %v is not checked by this test", schema["type"])
	}
	if enum, ok := schema["enum"].([]any); ok && !slices.Contains(enum, v) {
		bad("%v is not one of %v", v, enum)
	}
	return errs
}

func checkString(schema map[string]any, s, at string) []string {
	var errs []string
	if schema["format"] == "date-time" {
		if _, err := time.Parse(time.RFC3339Nano, s); err != nil {
			errs = append(errs, fmt.Sprintf("%s: %q is not a date-time", at, s))
		}
	}
	if p, ok := schema["pattern"].(string); ok && !regexp.MustCompile(p).MatchString(s) {
		errs = append(errs, fmt.Sprintf("%s: %q does not match %s", at, s, p))
	}
	if n, ok := schema["minLength"].(int); ok && len([]rune(s)) < n {
		errs = append(errs, fmt.Sprintf("%s: %q shorter than %d", at, s, n))
	}
	if n, ok := schema["maxLength"].(int); ok && len([]rune(s)) > n {
		errs = append(errs, fmt.Sprintf("%s: %q longer than %d", at, s, n))
	}
	return errs
}

// checkResponse holds an answer to its documented response: the required
// headers, the body's schema, JSON and no-store.
func (d *openAPI) checkResponse(t *testing.T, doc documented, r response) {
	t.Helper()
	at := doc.key()
	assert.Equal(t, doc.status, r.Status, "%s: %s", at, r.Body)
	headers, _ := doc.response["headers"].(map[string]any)
	for name, h := range headers {
		h := d.resolve(t, h.(map[string]any))
		v := r.Header.Get(name)
		if h["required"] == true {
			assert.NotEmpty(t, r.Header.Values(name), "%s: header %s", at, name)
		}
		if v == "" {
			continue
		}
		schema := h["schema"].(map[string]any)
		switch schema["type"] {
		case "integer":
			_, err := strconv.ParseInt(v, 10, 64)
			assert.NoError(t, err, "%s: header %s %q", at, name, v)
		case "string":
			assert.Empty(t, checkString(schema, v, at+" header "+name))
		}
	}
	if doc.method != http.MethodHead {
		assert.Equal(t, "no-store", r.Header.Get("Cache-Control"), at)
	}
	assert.NotEmpty(t, r.Header.Get("X-Request-Id"), at)
	content, hasBody := doc.response["content"].(map[string]any)
	if !hasBody || doc.method == http.MethodHead {
		assert.Empty(t, r.Body, "%s: no body documented", at)
		return
	}
	media := content["application/json"].(map[string]any)
	assert.Equal(t, "application/json", r.Header.Get("Content-Type"), at)
	var body any
	if !assert.NoError(t, json.Unmarshal(r.Body, &body), "%s: %s", at, r.Body) {
		return
	}
	assert.Empty(t, d.validate(t, media["schema"].(map[string]any), body, at), "%s: %s", at, r.Body)
}

// routePattern is a registered route as the document writes it: a
// subtree "/x/" is "/x/{path}".
func routePattern(path string) string {
	if strings.HasSuffix(path, "/") && path != "/" {
		return path + "{path}"
	}
	return path
}

// The document and the service agree (openapi.yaml, info.description):
// the same routes and methods, every documented status produced and
// validated, nothing undocumented answering.
func TestTheOpenAPIDocumentIsTheService(t *testing.T) {
	doc, responses := loadOpenAPI(t)

	// 1. The routes the service registers are the document's paths, with
	// the same methods (GET implies HEAD).
	registered := map[string][]string{}
	for _, r := range httpapi.PublicRoutes() {
		registered[routePattern(r.Path)] = r.Methods
	}
	documentedMethods := map[string][]string{}
	for _, d := range responses {
		if !slices.Contains(documentedMethods[d.path], d.method) {
			documentedMethods[d.path] = append(documentedMethods[d.path], d.method)
		}
	}
	for path, methods := range registered {
		for _, m := range methods { // HEAD, implied by GET, is not listed
			assert.Contains(t, documentedMethods[path], m, "the service answers %s %s: document it in openapi.yaml", m, path)
		}
	}
	for path, methods := range documentedMethods {
		for _, m := range methods {
			ok := slices.Contains(registered[path], m) || (m == http.MethodHead && slices.Contains(registered[path], http.MethodGet))
			assert.True(t, ok, "openapi.yaml documents %s %s, which the service does not route", m, path)
		}
	}

	// 2. Every documented response is produced and matches.
	adminRun(t, "", "create-role", "--name", "openapi-admin", "--permissions", `["orders:write"]`)
	inst := startInstance(t, nil)
	// An instance that never initialises: PostgreSQL is not where it looks.
	starting := startInstanceNoWait(t, map[string]string{"DB_PORT": "1"})
	waitFor(t, "the second instance listening", 30*time.Second, wantHealth(starting.URL, http.StatusServiceUnavailable))
	name, pw := newUser(t, "openapi", "openapi-admin")
	token := loginToken(t, inst.URL, name, pw)
	plain, plainPw := newUser(t, "openapi-plain")
	plainToken := loginToken(t, inst.URL, plain, plainPw)
	// logout-all ends every session of its user: a user of its own, so
	// that the other recipes' tokens stay valid whatever the order.
	leaver, leaverPw := newUser(t, "openapi-leaver")
	changer, changerPw := newUser(t, "openapi-changer")
	guesser, guesserPw := newUser(t, "openapi-guesser")
	guesserToken := loginToken(t, inst.URL, guesser, guesserPw)
	const strong = "Correct-Horse-Battery-Staple-42"
	withAuth := func(tok string, h map[string]string) map[string]string {
		out := map[string]string{"Authorization": "Bearer " + tok}
		for k, v := range h {
			out[k] = v
		}
		return out
	}
	change := func(current, next string) string {
		return mustJSON(map[string]string{"currentPassword": current, "newPassword": next})
	}
	jsonCT := map[string]string{"Content-Type": "application/json"}
	auth := func(tok string) map[string]string { return map[string]string{"Authorization": "Bearer " + tok} }
	call := func(base, method, path string, body string, header map[string]string) response {
		return do(t, method, base+path, stringsReader(body), header)
	}

	recipes := map[string]func() response{
		"POST /v1/login 200": func() response {
			return call(inst.URL, "POST", "/v1/login", mustJSON(map[string]string{"username": name, "password": pw}), jsonCT)
		},
		"POST /v1/login 400": func() response { return call(inst.URL, "POST", "/v1/login", `{"username":`, jsonCT) },
		"POST /v1/login 401": func() response {
			return call(inst.URL, "POST", "/v1/login", `{"username":"nobody-openapi","password":"x"}`, jsonCT)
		},
		"POST /v1/login 413": func() response {
			return call(inst.URL, "POST", "/v1/login", `{"username":"`+strings.Repeat("a", 5000)+`"}`, jsonCT)
		},
		"POST /v1/login 415": func() response {
			return call(inst.URL, "POST", "/v1/login", `{}`, map[string]string{"Content-Type": "text/plain"})
		},
		"POST /v1/login 429": func() response {
			locked, _ := newUser(t, "openapi-locked")
			for range 200 { // the policy's limit, whatever it is
				if r := call(inst.URL, "POST", "/v1/login", mustJSON(map[string]string{"username": locked, "password": "wrong-password"}), jsonCT); r.Status != http.StatusUnauthorized {
					return r
				}
			}
			t.Fatal("no lockout after 200 wrong passwords")
			return response{}
		},
		"POST /v1/login 503": func() response {
			return call(starting.URL, "POST", "/v1/login", `{"username":"a","password":"b"}`, jsonCT)
		},
		"GET /v1/session 200": func() response { return call(inst.URL, "GET", "/v1/session", "", auth(token)) },
		"GET /v1/session 401": func() response { return call(inst.URL, "GET", "/v1/session", "", nil) },
		"GET /v1/session 503": func() response { return call(starting.URL, "GET", "/v1/session", "", auth(token)) },
		"POST /v1/logout 204": func() response {
			return call(inst.URL, "POST", "/v1/logout", "", auth(loginToken(t, inst.URL, name, pw)))
		},
		"POST /v1/logout 401": func() response { return call(inst.URL, "POST", "/v1/logout", "", nil) },
		"POST /v1/logout 503": func() response { return call(starting.URL, "POST", "/v1/logout", "", auth(token)) },
		"POST /v1/logout-all 204": func() response {
			return call(inst.URL, "POST", "/v1/logout-all", "", auth(loginToken(t, inst.URL, leaver, leaverPw)))
		},
		"POST /v1/logout-all 401": func() response { return call(inst.URL, "POST", "/v1/logout-all", "", nil) },
		"POST /v1/logout-all 503": func() response { return call(starting.URL, "POST", "/v1/logout-all", "", auth(token)) },
		"POST /v1/password 204": func() response {
			return call(inst.URL, "POST", "/v1/password", change(changerPw, strong), withAuth(loginToken(t, inst.URL, changer, changerPw), jsonCT))
		},
		"POST /v1/password 400": func() response {
			return call(inst.URL, "POST", "/v1/password", change(guesserPw, "short"), withAuth(guesserToken, jsonCT))
		},
		"POST /v1/password 401": func() response { return call(inst.URL, "POST", "/v1/password", change("a", strong), jsonCT) },
		"POST /v1/password 403": func() response {
			return call(inst.URL, "POST", "/v1/password", change("wrong-password", strong), withAuth(guesserToken, jsonCT))
		},
		"POST /v1/password 413": func() response {
			return call(inst.URL, "POST", "/v1/password", change(strings.Repeat("a", 5000), strong), withAuth(guesserToken, jsonCT))
		},
		"POST /v1/password 415": func() response {
			return call(inst.URL, "POST", "/v1/password", change(guesserPw, strong), withAuth(guesserToken, map[string]string{"Content-Type": "text/plain"}))
		},
		"POST /v1/password 429": func() response {
			for range 200 { // the policy's limit, whatever it is
				if r := call(inst.URL, "POST", "/v1/password", change("wrong-password", strong), withAuth(guesserToken, jsonCT)); r.Status != http.StatusForbidden {
					return r
				}
			}
			t.Fatal("no lockout after 200 wrong current passwords")
			return response{}
		},
		"POST /v1/password 503": func() response {
			return call(starting.URL, "POST", "/v1/password", change(guesserPw, strong), withAuth(token, jsonCT))
		},
		"GET /health 200":      func() response { return call(inst.URL, "GET", "/health", "", nil) },
		"GET /health 503":      func() response { return call(starting.URL, "GET", "/health", "", nil) },
		"GET /health/live 200": func() response { return call(inst.URL, "GET", "/health/live", "", nil) },
	}
	for _, path := range []string{"/v1/authz", "/v1/authz/{path}"} {
		url := strings.Replace(path, "{path}", "orders/42", 1)
		for _, m := range httpapi.GatewayMethods {
			required := map[string]string{"Authorization": "Bearer " + token, "X-Auth-Require-Role": "openapi-admin"}
			forbidden := map[string]string{"Authorization": "Bearer " + plainToken, "X-Auth-Require-Role": "openapi-admin"}
			recipes[m+" "+path+" 200"] = func() response { return call(inst.URL, m, url, "", required) }
			recipes[m+" "+path+" 401"] = func() response { return call(inst.URL, m, url, "", auth("not-a-token")) }
			recipes[m+" "+path+" 403"] = func() response { return call(inst.URL, m, url, "", forbidden) }
			recipes[m+" "+path+" 503"] = func() response { return call(starting.URL, m, url, "", auth(token)) }
		}
	}
	var keys []string
	for _, d := range responses {
		keys = append(keys, d.key())
	}
	var recipeKeys []string
	for k := range recipes {
		recipeKeys = append(recipeKeys, k)
	}
	sort.Strings(keys)
	sort.Strings(recipeKeys)
	require.Equal(t, keys, recipeKeys, "every documented status has a recipe that produces it here, and no recipe produces an undocumented one")
	sort.Slice(responses, func(i, j int) bool { return responses[i].key() < responses[j].key() })
	for _, d := range responses {
		doc.checkResponse(t, d, recipes[d.key()]())
	}

	// 3. Nothing undocumented answers: other methods on documented paths
	// are 405 with Allow, other paths 404, both as Error.
	errSchema := map[string]any{"$ref": "#/components/schemas/Error"}
	for path, methods := range documentedMethods {
		url := strings.Replace(path, "{path}", "x/y", 1)
		for _, m := range append(slices.Clone(operationMethods), "connect-ish") {
			m = strings.ToUpper(m)
			if m == "CONNECT-ISH" {
				m = "BREW"
			}
			if slices.Contains(methods, m) || (m == http.MethodHead && slices.Contains(methods, http.MethodGet)) {
				continue
			}
			r := call(inst.URL, m, url, "", auth(token))
			assert.Equal(t, http.StatusMethodNotAllowed, r.Status, "%s %s is not documented", m, path)
			assert.NotEmpty(t, r.Header.Get("Allow"), "%s %s", m, path)
			if m != http.MethodHead {
				var body any
				require.NoError(t, jsonUnmarshal(r.Body, &body))
				assert.Empty(t, doc.validate(t, errSchema, body, m+" "+path))
			}
		}
	}
	for _, path := range []string{"/", "/v1", "/v1/", "/v1/sessions", "/v1/session/x", "/v1/login/", "/v2/login", "/metrics", "/health/detail", "/v1/authzx", "/openapi.yaml"} {
		r := call(inst.URL, "GET", path, "", auth(token))
		assert.Equal(t, http.StatusNotFound, r.Status, "GET %s is not documented", path)
		var body any
		require.NoError(t, jsonUnmarshal(r.Body, &body), path)
		assert.Empty(t, doc.validate(t, errSchema, body, "GET "+path))
	}
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }
