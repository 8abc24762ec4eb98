package gateway_test

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"google.golang.org/grpc/codes"

	"github.com/junctionhq/junction/gateway/auth"
	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
)

// issuer is an OpenID provider on httptest: discovery and a JWKS with one
// RSA key, plus a signer for tokens.
type issuer struct {
	srv *httptest.Server
	key *rsa.PrivateKey
	kid string
}

func newIssuer(t *testing.T) *issuer {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	is := &issuer{key: key, kid: "k1"}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, _ *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]any{
			"issuer":                                is.srv.URL,
			"jwks_uri":                              is.srv.URL + "/jwks",
			"authorization_endpoint":                is.srv.URL + "/authorize",
			"token_endpoint":                        is.srv.URL + "/token",
			"id_token_signing_alg_values_supported": []string{"RS256"},
		})
	})
	mux.HandleFunc("GET /jwks", func(w http.ResponseWriter, _ *http.Request) {
		_ = json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: is.kid, Algorithm: "RS256", Use: "sig"}}})
	})
	is.srv = httptest.NewServer(mux)
	t.Cleanup(is.srv.Close)
	return is
}

// sign returns a JWT over claims signed with key (the issuer's when nil).
func (is *issuer) sign(t *testing.T, key *rsa.PrivateKey, claims map[string]any) string {
	t.Helper()
	if key == nil {
		key = is.key
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: key, KeyID: is.kid}}, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jwt.Signed(signer).Claims(claims).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestOIDCTokens(t *testing.T) {
	is := newIssuer(t)
	o, err := auth.NewOIDC(auth.OIDCConfig{Issuer: is.srv.URL, Audience: "junction-api"}, is.srv.Client())
	if err != nil {
		t.Fatalf("NewOIDC: %v", err)
	}
	e := newAuthEnv(t, auth.RateLimit{RPS: -1}, o)
	ctx := testCtx(t)
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	claims := func(change func(map[string]any)) map[string]any {
		c := map[string]any{
			"iss": is.srv.URL, "aud": "junction-api", "sub": "alice",
			"iat": now.Unix(), "exp": now.Add(time.Hour).Unix(),
			"scope": "routes:read events:read",
		}
		if change != nil {
			change(c)
		}
		return c
	}
	for _, tc := range []struct {
		name  string
		token string
		want  codes.Code
		msg   string
	}{
		{"valid, scope string", is.sign(t, nil, claims(nil)), codes.OK, ""},
		{"valid, scope array", is.sign(t, nil, claims(func(c map[string]any) { c["scope"] = []string{"routes:read"} })), codes.OK, ""},
		{"valid, audience list", is.sign(t, nil, claims(func(c map[string]any) { c["aud"] = []string{"other", "junction-api"} })), codes.OK, ""},
		{"no scope", is.sign(t, nil, claims(func(c map[string]any) { delete(c, "scope") })), codes.PermissionDenied, "token subject alice has no scopes"},
		{"wrong scope", is.sign(t, nil, claims(func(c map[string]any) { c["scope"] = "events:read" })), codes.PermissionDenied, "needs scope routes:read"},
		{"expired", is.sign(t, nil, claims(func(c map[string]any) { c["exp"] = now.Add(-time.Hour).Unix() })), codes.Unauthenticated, "expired"},
		{"wrong audience", is.sign(t, nil, claims(func(c map[string]any) { c["aud"] = "someone-else" })), codes.Unauthenticated, "audience"},
		{"wrong issuer", is.sign(t, nil, claims(func(c map[string]any) { c["iss"] = "https://evil.example" })), codes.Unauthenticated, "different provider"},
		{"wrong signature", is.sign(t, other, claims(nil)), codes.Unauthenticated, "signature"},
		{"scope claim of the wrong type", is.sign(t, nil, claims(func(c map[string]any) { c["scope"] = 7 })), codes.Unauthenticated, "scope"},
		{"not a JWT", "abc.def", codes.Unauthenticated, "jnk_"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.routes.ListRoutes(withKey(ctx, tc.token), &junctionv1.ListRoutesRequest{})
			if tc.want == codes.OK {
				if err != nil {
					t.Fatalf("got %v, want the call let through", err)
				}
				return
			}
			wantCode(t, err, tc.want, tc.msg)
		})
	}
	resp, raw := e.restDo(t, http.MethodGet, "/v1/routes", "Bearer "+is.sign(t, nil, claims(nil)), nil)
	if resp.StatusCode != http.StatusOK {
		t.Errorf("REST with a valid token: got %d %s, want 200", resp.StatusCode, raw)
	}
}

func TestOIDCConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  auth.OIDCConfig
		ok   bool
	}{
		{"off", auth.OIDCConfig{}, true},
		{"complete", auth.OIDCConfig{Issuer: "https://id.example", Audience: "api"}, true},
		{"no audience", auth.OIDCConfig{Issuer: "https://id.example"}, false},
		{"not a URL", auth.OIDCConfig{Issuer: "id.example", Audience: "api"}, false},
	} {
		if err := tc.cfg.Validate(); (err == nil) != tc.ok {
			t.Errorf("%s: Validate got %v, want ok=%v", tc.name, err, tc.ok)
		}
	}
}

// TestOIDCRateLimitPerSubject: tokens share their subject's bucket, even
// when each call sends a new token.
func TestOIDCRateLimitPerSubject(t *testing.T) {
	is := newIssuer(t)
	o, err := auth.NewOIDC(auth.OIDCConfig{Issuer: is.srv.URL, Audience: "junction-api"}, is.srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	e := newAuthEnv(t, auth.RateLimit{RPS: 0.001, Burst: 1}, o)
	ctx := testCtx(t)
	token := func(sub string, n int) string {
		return is.sign(t, nil, map[string]any{
			"iss": is.srv.URL, "aud": "junction-api", "sub": sub, "jti": fmt.Sprint(n),
			"exp": time.Now().Add(time.Hour).Unix(), "scope": "routes:read",
		})
	}
	if _, err := e.routes.ListRoutes(withKey(ctx, token("alice", 1)), &junctionv1.ListRoutesRequest{}); err != nil {
		t.Fatalf("first call: %v", err)
	}
	_, err = e.routes.ListRoutes(withKey(ctx, token("alice", 2)), &junctionv1.ListRoutesRequest{})
	wantCode(t, err, codes.ResourceExhausted, "token subject alice")
	if _, err := e.routes.ListRoutes(withKey(ctx, token("bob", 3)), &junctionv1.ListRoutesRequest{}); err != nil {
		t.Fatalf("another subject: %v, want its own bucket", err)
	}
}
