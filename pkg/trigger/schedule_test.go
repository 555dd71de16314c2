package trigger

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestParseScheduleSlots(t *testing.T) {
	from := utc(10, 20, 0) // Thursday 2026-01-15 10:20 UTC
	d := func(month time.Month, day, hour, minute int, year ...int) time.Time {
		y := 2026
		if len(year) > 0 {
			y = year[0]
		}
		return time.Date(y, month, day, hour, minute, 0, 0, time.UTC)
	}
	tests := []struct {
		name string
		expr string
		from time.Time
		want []time.Time
	}{
		{"hourly descriptor", "@hourly", from, []time.Time{utc(11, 0, 0), utc(12, 0, 0)}},
		{"daily descriptor", "@daily", from, []time.Time{d(1, 16, 0, 0), d(1, 17, 0, 0)}},
		{"weekly descriptor is Sunday midnight", "@weekly", from, []time.Time{d(1, 18, 0, 0), d(1, 25, 0, 0)}},
		{"monthly descriptor", "@monthly", from, []time.Time{d(2, 1, 0, 0), d(3, 1, 0, 0)}},
		{"yearly descriptor", "@yearly", from, []time.Time{d(1, 1, 0, 0, 2027)}},
		{"annually descriptor", "@annually", from, []time.Time{d(1, 1, 0, 0, 2027)}},
		{"step", "*/15 * * * *", from, []time.Time{utc(10, 30, 0), utc(10, 45, 0), utc(11, 0, 0)}},
		{"range with step and hour range", "0-30/10 1-5 * * *", from,
			[]time.Time{d(1, 16, 1, 0), d(1, 16, 1, 10), d(1, 16, 1, 20), d(1, 16, 1, 30), d(1, 16, 2, 0)}},
		{"hour range ends the day", "0-30/10 1-5 * * *", d(1, 16, 5, 30),
			[]time.Time{d(1, 17, 1, 0)}},
		{"single value with step runs to the maximum", "50/5 * * * *", from, []time.Time{utc(10, 50, 0), utc(10, 55, 0), utc(11, 50, 0)}},
		{"list", "0 0 1,15 * *", from, []time.Time{d(2, 1, 0, 0), d(2, 15, 0, 0)}},
		{"month step", "0 0 1 */3 *", from, []time.Time{d(4, 1, 0, 0), d(7, 1, 0, 0)}},
		{"day name", "0 12 * * SUN", from, []time.Time{d(1, 18, 12, 0), d(1, 25, 12, 0)}},
		{"month and day name ranges", "0 9 * jan-mar mon-fri", d(3, 31, 10, 0),
			[]time.Time{d(1, 1, 9, 0, 2027), d(1, 4, 9, 0, 2027)}},
		{"mixed-case names", "0 9 1 Feb,Aug *", from, []time.Time{d(2, 1, 9, 0), d(8, 1, 9, 0)}},
		{"leap day", "0 0 29 feb *", from, []time.Time{d(2, 29, 0, 0, 2028)}},
		{"day-of-month OR day-of-week when both are set", "0 0 13 * fri", from,
			[]time.Time{d(1, 16, 0, 0), d(1, 23, 0, 0), d(1, 30, 0, 0), d(2, 6, 0, 0), d(2, 13, 0, 0), d(2, 20, 0, 0)}},
		{"question mark in day fields", "0 6 ? * ?", from, []time.Time{d(1, 16, 6, 0)}},
		{"surrounding spaces and tabs between fields", "  5 4\t* * *  ", from, []time.Time{d(1, 16, 4, 5)}},
		{"slot is strictly after", "20 10 * * *", from, []time.Time{d(1, 16, 10, 20)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sched, err := ParseSchedule(tt.expr)
			if err != nil {
				t.Fatalf("ParseSchedule(%q): %v", tt.expr, err)
			}
			at := tt.from
			for i, want := range tt.want {
				at = sched.Next(at)
				if !at.Equal(want) {
					t.Fatalf("slot %d of %q after %s = %s, want %s", i, tt.expr, tt.from, at, want)
				}
			}
		})
	}
}

func TestParseScheduleInvalid(t *testing.T) {
	tests := []struct {
		expr string
		want string // the whole message
	}{
		{"61 * * * *", `invalid schedule "61 * * * *": end of range (61) above maximum (59): 61`},
		{"0 24 * * *", `invalid schedule "0 24 * * *": end of range (24) above maximum (23): 24`},
		{"0 0 0 * *", `invalid schedule "0 0 0 * *": beginning of range (0) below minimum (1): 0`},
		{"0 0 * 13 *", `invalid schedule "0 0 * 13 *": end of range (13) above maximum (12): 13`},
		{"0 0 * * 7", `invalid schedule "0 0 * * 7": end of range (7) above maximum (6): 7`},
		{"30-10 * * * *", `invalid schedule "30-10 * * * *": beginning of range (30) beyond end of range (10): 30-10`},
		{"*/0 * * * *", `invalid schedule "*/0 * * * *": step of range should be a positive number: */0`},
		{"0 0 * * * *", `invalid schedule "0 0 * * * *": expected exactly 5 fields, found 6: [0 0 * * * *]`},
		{"* * * *", `invalid schedule "* * * *": expected exactly 5 fields, found 4: [* * * *]`},
		{"0 0 * foo *", `invalid schedule "0 0 * foo *": failed to parse int from foo: strconv.Atoi: parsing "foo": invalid syntax`},
		{"@fortnightly", `invalid schedule "@fortnightly": unrecognized descriptor: @fortnightly`},
		{"", `invalid schedule "": empty expression`},
		{"   ", `invalid schedule "   ": empty expression`},
		{"0 0 30 2 *", `invalid schedule "0 0 30 2 *": no date matches the day-of-month and month fields`},
		{"0 0 31 4,6,9,11 *", `invalid schedule "0 0 31 4,6,9,11 *": no date matches the day-of-month and month fields`},
		{"CRON_TZ=UTC 0 * * * *", `invalid schedule "CRON_TZ=UTC 0 * * * *": time-zone prefixes are not supported, schedules use the controller's time zone`},
		{"TZ=Europe/Paris", `invalid schedule "TZ=Europe/Paris": time-zone prefixes are not supported, schedules use the controller's time zone`},
		{"@every 1h", `invalid schedule "@every 1h": @every is not supported, use a step such as "*/15 * * * *"`},
		{"@midnight", `invalid schedule "@midnight": @midnight is not supported, use @daily`},
		{"? * * * *", `invalid schedule "? * * * *": ` + patternHint},
		{"1,,2 * * * *", `invalid schedule "1,,2 * * * *": ` + patternHint},
		{"\t0 * * * *", `invalid schedule "\t0 * * * *": ` + patternHint},
		{"0 * * * *\n", `invalid schedule "0 * * * *\n": ` + patternHint},
		{"000 * * * *", `invalid schedule "000 * * * *": ` + patternHint},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			sched, err := ParseSchedule(tt.expr)
			if err == nil {
				t.Fatalf("ParseSchedule(%q) = %v, want an error", tt.expr, sched)
			}
			if !errors.Is(err, ErrInvalidSchedule) {
				t.Errorf("error %v does not wrap ErrInvalidSchedule", err)
			}
			if err.Error() != tt.want {
				t.Errorf("error:\n got %s\nwant %s", err, tt.want)
			}
		})
	}
}

func TestNextSyncTime(t *testing.T) {
	created := utc(9, 12, 0)
	last := utc(10, 5, 30)
	tests := []struct {
		name     string
		trigger  string // "" Always, "m:" prefix Manual, else a schedule
		lastSync *time.Time
		want     *time.Time
		wantErr  bool
	}{
		{"always has none", "", &last, nil, false},
		{"manual has none", "m:x", &last, nil, false},
		{"after the last sync", "0 * * * *", &last, ptr(utc(11, 0, 0)), false},
		{"after creation before the first sync", "0 * * * *", nil, ptr(utc(10, 0, 0)), false},
		{"invalid schedule", "0 25 * * *", &last, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			trig := scheduled(tt.trigger)
			switch {
			case tt.trigger == "":
				trig = nil
			case strings.HasPrefix(tt.trigger, "m:"):
				trig = manual(strings.TrimPrefix(tt.trigger, "m:"))
			}
			got, err := NextSyncTime(trig, tt.lastSync, created, time.UTC, "")
			if (err != nil) != tt.wantErr {
				t.Fatalf("error = %v, wantErr %v", err, tt.wantErr)
			}
			if !sameTime(got, tt.want) {
				t.Errorf("NextSyncTime = %s, want %s", fmtTime(got), fmtTime(tt.want))
			}
		})
	}
}
