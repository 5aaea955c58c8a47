"""Bad input of any shape ends in ParseError/ValidationError naming a field, never another exception."""

from hypothesis import given, settings
from hypothesis import strategies as st

from kafka_mesos.core.constraints import parse_constraints
from kafka_mesos.core.errors import ValidationError
from kafka_mesos.core.expr import parse_broker_expr
from kafka_mesos.core.model import Broker
from kafka_mesos.core.ranges import parse_port_spec
from kafka_mesos.core.validation import BROKER_PARAMS, apply_broker_params

values = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["", "0", "-1", "1e400", "nan", "inf", "9" * 5000, "1" * 20, "1..", "..", "[", "\\",
                     "like:(", "groupBy:99999999999999999999", "1" * 5000 + "s", "0x10", "١٢"]),
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from([*BROKER_PARAMS, "bogus"]), values, max_size=4))
def test_apply_params_only_raises_validation_errors(params: dict[str, str]) -> None:
    try:
        broker = apply_broker_params(Broker(id=0), params)
    except ValidationError as exc:
        assert exc.field in params and exc.message
    else:
        assert broker.heap < broker.mem and broker.cpus > 0


@given(values)
def test_parsers_only_raise_validation_errors(text: str) -> None:
    for parse in (parse_constraints, parse_broker_expr, parse_port_spec):
        try:
            parse(text)
        except ValidationError:
            pass


def test_huge_numbers_are_parse_errors() -> None:
    for parse in (parse_broker_expr, parse_port_spec):
        try:
            parse("9" * 5000)
        except ValidationError as exc:
            assert "9999" in exc.message
