package rpcstatus_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc/codes"

	"github.com/junctionhq/junction/adapters/sdk/rpcstatus"
)

func TestWrite(t *testing.T) {
	tests := []struct {
		name     string
		status   int
		wantCode codes.Code
	}{
		{"bad request", http.StatusBadRequest, codes.InvalidArgument},
		{"unauthenticated", http.StatusUnauthorized, codes.Unauthenticated},
		{"forbidden", http.StatusForbidden, codes.PermissionDenied},
		{"not found", http.StatusNotFound, codes.NotFound},
		{"wrong method", http.StatusMethodNotAllowed, codes.Unimplemented},
		{"too large", http.StatusRequestEntityTooLarge, codes.ResourceExhausted},
		{"media type", http.StatusUnsupportedMediaType, codes.InvalidArgument},
		{"rate limited", http.StatusTooManyRequests, codes.ResourceExhausted},
		{"internal", http.StatusInternalServerError, codes.Internal},
		{"unavailable", http.StatusServiceUnavailable, codes.Unavailable},
		{"teapot", http.StatusTeapot, codes.Unknown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			rpcstatus.Write(w, tt.status, "say what to fix")
			if w.Code != tt.status {
				t.Errorf("status %d, want %d", w.Code, tt.status)
			}
			if ct := w.Header().Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q, want application/json", ct)
			}
			b, err := rpcstatus.Parse(w.Body.Bytes())
			if err != nil {
				t.Fatal(err)
			}
			if codes.Code(b.Code) != tt.wantCode || b.Message != "say what to fix" || len(b.Details) != 0 {
				t.Errorf("body %+v, want code %d (%s), the message and no details", b, tt.wantCode, tt.wantCode)
			}
		})
	}
}

// TestCodesNumberedAsGRPC: the package's own Code values (declared so the
// SDK does not import gRPC) are gRPC's.
func TestCodesNumberedAsGRPC(t *testing.T) {
	for c, want := range []rpcstatus.Code{rpcstatus.OK, rpcstatus.Canceled, rpcstatus.Unknown, rpcstatus.InvalidArgument,
		rpcstatus.DeadlineExceeded, rpcstatus.NotFound, rpcstatus.AlreadyExists, rpcstatus.PermissionDenied,
		rpcstatus.ResourceExhausted, rpcstatus.FailedPrecondition, rpcstatus.Aborted, rpcstatus.OutOfRange,
		rpcstatus.Unimplemented, rpcstatus.Internal, rpcstatus.Unavailable, rpcstatus.DataLoss, rpcstatus.Unauthenticated} {
		if want != rpcstatus.Code(codes.Code(c)) {
			t.Errorf("code %d (%s in gRPC): the package numbers it %d", c, codes.Code(c), want)
		}
	}
}

// TestCodeForInvertsGateway: where grpc-gateway maps a code to a status
// that only that code has, CodeFor maps it back, so a webhook's 404 and a
// REST 404 carry the same code.
func TestCodeForInvertsGateway(t *testing.T) {
	for _, c := range []codes.Code{codes.InvalidArgument, codes.Unauthenticated, codes.PermissionDenied,
		codes.NotFound, codes.Internal, codes.Unavailable, codes.ResourceExhausted, codes.Canceled} {
		st := runtime.HTTPStatusFromCode(c)
		if got := rpcstatus.CodeFor(st); got != rpcstatus.Code(c) {
			t.Errorf("CodeFor(%d) = %d, want %d (grpc-gateway maps %s to %d)", st, got, c, c, st)
		}
	}
}

func TestParse(t *testing.T) {
	info := rpcstatus.ErrorInfo("STORE_FULL", rpcstatus.Domain, map[string]string{"store": "full"})
	withInfo, _ := json.Marshal(rpcstatus.New(rpcstatus.Unavailable, "not ready", info))
	tests := []struct {
		name    string
		body    string
		wantErr bool
	}{
		{"plain", `{"code":3,"message":"m","details":[]}`, false},
		{"with ErrorInfo", string(withInfo), false},
		{"old webhook shape", `{"error":{"code":400,"status":"INVALID_ARGUMENT","message":"m"}}`, true},
		{"details missing", `{"code":3,"message":"m"}`, true},
		{"details null", `{"code":3,"message":"m","details":null}`, true},
		{"extra field", `{"code":3,"message":"m","details":[],"status":"x"}`, true},
		{"detail without type", `{"code":3,"message":"m","details":[{"reason":"x"}]}`, true},
		{"code OK", `{"code":0,"message":"m","details":[]}`, true},
		{"text", `bad request`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := rpcstatus.Parse([]byte(tt.body))
			if (err != nil) != tt.wantErr {
				t.Errorf("Parse(%s) error %v, want error %v", tt.body, err, tt.wantErr)
			}
		})
	}
}

// TestRoutes: a ServeMux's own 404 and 405 become error bodies, 405 with
// the mux's Allow; what a pattern matches passes through untouched.
func TestRoutes(t *testing.T) {
	m := http.NewServeMux()
	m.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) })
	h := rpcstatus.Routes(m)
	tests := []struct {
		name, method, path string
		wantStatus         int
		wantAllow          string
		wantCode           codes.Code
	}{
		{"served", http.MethodGet, "/healthz", http.StatusOK, "", codes.OK},
		{"wrong method", http.MethodPost, "/healthz", http.StatusMethodNotAllowed, "GET, HEAD", codes.Unimplemented},
		{"no endpoint", http.MethodGet, "/nope", http.StatusNotFound, "", codes.NotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			h.ServeHTTP(w, httptest.NewRequest(tt.method, tt.path, nil))
			if w.Code != tt.wantStatus || w.Header().Get("Allow") != tt.wantAllow {
				t.Fatalf("%s %s = %d Allow %q, want %d Allow %q", tt.method, tt.path, w.Code, w.Header().Get("Allow"), tt.wantStatus, tt.wantAllow)
			}
			if tt.wantCode == codes.OK {
				if w.Body.String() != "ok" {
					t.Errorf("body %q, want the handler's ok", w.Body)
				}
				return
			}
			b, err := rpcstatus.Parse(w.Body.Bytes())
			if err != nil || codes.Code(b.Code) != tt.wantCode {
				t.Errorf("body %s (%v), want an error body with code %s", w.Body, err, tt.wantCode)
			}
		})
	}
}
