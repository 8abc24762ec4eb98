package sdk

import (
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
)

// TestAgeFrom: a delayed delivery's max age counts from when it is due,
// so a delay longer than max_age does not dead-letter it unattempted.
func TestAgeFrom(t *testing.T) {
	created := time.Date(2026, 12, 7, 1, 0, 0, 0, time.UTC)
	due := created.Add(48 * time.Hour)
	tests := []struct {
		name string
		d    *junctionv1.Delivery
		want *timestamppb.Timestamp
	}{
		{"immediate", &junctionv1.Delivery{CreateTime: timestamppb.New(created)}, timestamppb.New(created)},
		{"delayed", &junctionv1.Delivery{CreateTime: timestamppb.New(created), NotBefore: timestamppb.New(due)}, timestamppb.New(due)},
		{"due before created (clock skew)", &junctionv1.Delivery{CreateTime: timestamppb.New(due), NotBefore: timestamppb.New(created)}, timestamppb.New(due)},
		{"delayed, no create time", &junctionv1.Delivery{NotBefore: timestamppb.New(due)}, timestamppb.New(due)},
		{"neither", &junctionv1.Delivery{}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ageFrom(tt.d)
			if (got == nil) != (tt.want == nil) || (got != nil && !got.AsTime().Equal(tt.want.AsTime())) {
				t.Errorf("ageFrom = %v, want %v", got, tt.want)
			}
		})
	}
}
