"""The message shapes Eclipse EDC 0.15 sends that our node reads (docs/exchange.md, "Eclipse EDC as a peer"),
without a JVM: a QuerySpec as catalog filter, a data address with EDC-namespace property names."""

from __future__ import annotations

import pytest

from batteryloop.exchange.config import DatasetConfig
from batteryloop.exchange.errors import ProtocolError
from batteryloop.exchange.node import EDC_NS, catalog_filter, pull_endpoint, query_spec_page

EDC_QUERY = {"@type": "QuerySpec", "limit": 50, "offset": 0, "sortOrder": "ASC", "filterExpression": []}


def test_an_edc_query_spec_pages_and_filters_nothing() -> None:
    d = DatasetConfig(id="urn:x", usage_policy={"permission": [{"action": "use"}]})
    assert catalog_filter([EDC_QUERY])(d)
    assert query_spec_page(EDC_QUERY) == (0, 50)
    assert query_spec_page({"@type": "QuerySpec"}) == (0, None)


@pytest.mark.parametrize("bad", [
    {**EDC_QUERY, "filterExpression": [{"operandLeft": "id", "operator": "=", "operandRight": "x"}]},
    {**EDC_QUERY, "sortField": "id"},
    {**EDC_QUERY, "offset": -1},
    {**EDC_QUERY, "limit": "50"},
    {**EDC_QUERY, "unknown": 1},
])
def test_what_a_query_spec_could_ask_beyond_paging_is_refused_not_ignored(bad: dict) -> None:
    with pytest.raises(ProtocolError) as e:
        catalog_filter([bad])
    assert e.value.code == "InvalidFilter"


def test_the_pull_endpoint_of_a_dsp_and_of_an_edc_data_address() -> None:
    dsp = {"@type": "DataAddress", "endpointType": "https://w3id.org/idsa/v4.1/HTTP", "endpoint": "http://p/data/1",
           "endpointProperties": [{"@type": "EndpointProperty", "name": "authorization", "value": "tok"},
                                  {"@type": "EndpointProperty", "name": "authType", "value": "bearer"}]}
    assert pull_endpoint(dsp) == ("http://p/data/1", "tok")
    edc = {"@type": "DataAddress", "endpointType": "https://w3id.org/idsa/v4.1/HTTP",
           "endpointProperties": [{"@type": "EndpointProperty", "name": EDC_NS + "endpoint", "value": "http://e/public"},
                                  {"@type": "EndpointProperty", "name": EDC_NS + "authorization", "value": "jwt"}]}
    assert pull_endpoint(edc) == ("http://e/public", "jwt")
    with pytest.raises(ProtocolError):
        pull_endpoint({"@type": "DataAddress", "endpointType": "x"})
