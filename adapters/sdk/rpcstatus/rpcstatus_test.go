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

// TestCodeForInvertsGateway: where grpc-gateway maps a code to a status
// that only that code has, CodeFor maps it back, so a webhook's 404 and a
// REST 404 carry the same code.
func TestCodeForInvertsGateway(t *testing.T) {
	for _, c := range []codes.Code{codes.InvalidArgument, codes.Unauthenticated, codes.PermissionDenied,
		codes.NotFound, codes.Internal, codes.Unavailable, codes.ResourceExhausted, codes.Canceled} {
		st := runtime.HTTPStatusFromCode(c)
		if got := rpcstatus.CodeFor(st); got != c {
			t.Errorf("CodeFor(%d) = %s, want %s (grpc-gateway maps %s to %d)", st, got, c, c, st)
		}
	}
}

func TestParse(t *testing.T) {
	info := rpcstatus.ErrorInfo("STORE_FULL", rpcstatus.Domain, map[string]string{"store": "full"})
	withInfo, _ := json.Marshal(rpcstatus.New(codes.Unavailable, "not ready", info))
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
