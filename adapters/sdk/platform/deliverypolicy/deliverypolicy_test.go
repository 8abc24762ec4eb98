package deliverypolicy

import (
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"

	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
)

func TestWithDefaults(t *testing.T) {
	got := WithDefaults(nil)
	want := &junctionv1.DeliveryPolicy{
		MaxAttempts:    185,
		InitialBackoff: durationpb.New(time.Second),
		MaxBackoff:     durationpb.New(10 * time.Minute),
		Multiplier:     2,
		Jitter:         0.2,
		MaxAge:         durationpb.New(24 * time.Hour),
		AttemptTimeout: durationpb.New(30 * time.Second),
		DeadLetter:     proto.Bool(true),
	}
	if !proto.Equal(got, want) {
		t.Errorf("WithDefaults(nil) = %v, want %v", got, want)
	}
	in := &junctionv1.DeliveryPolicy{MaxAttempts: 2, MaxBackoff: durationpb.New(time.Minute), DeadLetter: proto.Bool(false)}
	got = WithDefaults(in)
	if got.MaxAttempts != 2 || got.MaxBackoff.AsDuration() != time.Minute || got.GetDeadLetter() || got.Multiplier != 2 {
		t.Errorf("WithDefaults kept %v, want set fields kept and others defaulted", got)
	}
	if in.Multiplier != 0 {
		t.Errorf("WithDefaults modified its input")
	}
}
