package platform_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/junctionhq/junction/adapters/sdk"
	"github.com/junctionhq/junction/adapters/sdk/platform"
	"github.com/junctionhq/junction/adapters/sdk/sdktest"
)

// TestNewRunnerReachesTheEngine: platform.NewRunner reaches package sdk's
// engine through internal/hook (a mismatch of the hook's type would panic
// here) and passes its errors on.
func TestNewRunnerReachesTheEngine(t *testing.T) {
	hub := sdktest.NewHub(t)
	tests := []struct {
		name    string
		spec    sdk.Spec
		adapter any
		wantErr string
		wantIs  error
	}{
		{name: "bad app", spec: sdk.Spec{App: "Bad App"}, adapter: struct{}{}, wantErr: "spec app"},
		{name: "no role", spec: sdk.Spec{App: "idle"}, adapter: struct{}{}, wantIs: sdk.ErrNoRole},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := platform.NewRunner(tt.spec, tt.adapter, hub.NC, platform.RunnerOptions{})
			if err == nil || r != nil {
				t.Fatalf("NewRunner = %v, %v; want an error", r, err)
			}
			if tt.wantErr != "" && !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("err = %v, want it to say %q", err, tt.wantErr)
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("err = %v, want %v", err, tt.wantIs)
			}
		})
	}
}
