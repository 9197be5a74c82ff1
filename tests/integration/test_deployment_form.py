"""The run form of a deployed luisy flow: descriptions, typed list items, patterns; a bad
value is refused by the server when the run is submitted, before anything runs."""
import pytest
from prefect.client.orchestration import get_client
from prefect.exceptions import PrefectHTTPStatusError

import luisy

pytestmark = [pytest.mark.usefixtures("prefect_server"), pytest.mark.prefect]


@luisy.project_name("form")
class Window(luisy.Task):
    """Counts what falls in a window of time."""

    month = luisy.MonthParameter(description="The month, YYYY-MM.")
    day = luisy.DateParameter(default="2024-01-15", description="A day in it.")
    interval = luisy.DateIntervalParameter(default="2024-W03")
    months = luisy.ListParameter(default=["2024-01"], items=luisy.MonthParameter(),
                                 description="More months.")

    def run(self):
        self.write(str(self.month))


@pytest.fixture(scope="module")
def deployment_id():
    flow = luisy.flow(Window)
    return flow.to_deployment(name="form-check").apply()


def _schema(deployment_id) -> dict:
    with get_client(sync_client=True) as client:
        return client.read_deployment(deployment_id).parameter_openapi_schema["properties"]


def test_the_form_shows_descriptions_patterns_and_typed_items(deployment_id):
    form = _schema(deployment_id)
    assert form["month"]["description"] == "The month, YYYY-MM."
    assert form["month"]["pattern"] == r"^\d{4}-(0[1-9]|1[0-2])$"
    assert form["day"]["format"] == "date" and form["day"]["description"] == "A day in it."
    assert "pattern" in form["day"]  # the server checks patterns (not the date format)
    assert "pattern" in form["interval"]
    assert form["months"]["items"] == {"type": "string", "pattern": r"^\d{4}-(0[1-9]|1[0-2])$"}
    assert form["working_dir"]["description"].startswith("Where outputs")


@pytest.mark.parametrize(("parameters", "named"), [
    ({"month": "2024-13"}, "2024-13"),
    ({"month": "2024-01", "day": "15.01.2024"}, "15.01.2024"),
    ({"month": "2024-01", "interval": "2024-W60"}, "2024-W60"),
    ({"month": "2024-01", "months": ["2024-01", "24-2"]}, "24-2"),
])
def test_a_bad_value_is_refused_when_the_run_is_submitted(deployment_id, parameters, named):
    with get_client(sync_client=True) as client, pytest.raises(PrefectHTTPStatusError) as refused:
        client.create_flow_run_from_deployment(deployment_id, parameters=parameters)
    assert refused.value.response.status_code == 409
    assert named in refused.value.response.text


def test_good_values_are_accepted(deployment_id):
    with get_client(sync_client=True) as client:
        run = client.create_flow_run_from_deployment(
            deployment_id, parameters={"month": "2024-02", "day": "2024-02-29",
                                       "interval": "2024-02-01-2024-03-01",
                                       "months": ["2024-01", "2024-12"]})
    assert run.parameters["month"] == "2024-02"
