# A job's step times, for the benches (jq -L bench 'include "steps"; ...'):
# the seconds a step took, from its ISO times (millisecond clock), and the
# "name seconds, ..." line the benches print, rounded to 1/`per` s, ending
# with the job's time between its steps (its commits, and for a PostgreSQL
# snapshot the typed copy's key index and commit, which the load waits for).
def step_seconds:
  [.started_at, .finished_at]
  | map(capture("T(?<h>..):(?<m>..):(?<s>..\\.[0-9]+)Z") | (.h | tonumber) * 3600 + (.m | tonumber) * 60 + (.s | tonumber))
  | .[1] - .[0];
def step_seconds(name): [.steps[] | select(.name == name)][0] | step_seconds;
def between_steps: .duration_seconds - ([.steps[] | select(.name != "extract") | step_seconds] | add);
def steps_line(per): [(.steps[] | "\(.name) \(step_seconds * per | round / per)"),
                      "between the steps \(between_steps * per | round / per)"] | join(", ");
