//! The part of OpenTelemetry's metrics protocol (OTLP `MetricsData`, protobuf) that KIP-714
//! clients push: gauges and sums with number data points. prost decodes it from these
//! message definitions (field numbers as in opentelemetry/proto/metrics/v1/metrics.proto);
//! fields and metric types not declared here (histograms, exemplars) are skipped.

#[derive(Clone, PartialEq, prost::Message)]
pub struct MetricsData {
    #[prost(message, repeated, tag = "1")]
    pub resource_metrics: Vec<ResourceMetrics>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct ResourceMetrics {
    #[prost(message, optional, tag = "1")]
    pub resource: Option<Resource>,
    #[prost(message, repeated, tag = "2")]
    pub scope_metrics: Vec<ScopeMetrics>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Resource {
    #[prost(message, repeated, tag = "1")]
    pub attributes: Vec<KeyValue>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct ScopeMetrics {
    #[prost(message, repeated, tag = "2")]
    pub metrics: Vec<Metric>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Metric {
    #[prost(string, tag = "1")]
    pub name: String,
    #[prost(string, tag = "2")]
    pub description: String,
    #[prost(oneof = "Data", tags = "5, 7")]
    pub data: Option<Data>,
}

#[derive(Clone, PartialEq, prost::Oneof)]
pub enum Data {
    #[prost(message, tag = "5")]
    Gauge(Gauge),
    #[prost(message, tag = "7")]
    Sum(Sum),
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Gauge {
    #[prost(message, repeated, tag = "1")]
    pub data_points: Vec<NumberDataPoint>,
}

/// AggregationTemporality DELTA: each point is the change since the previous push.
pub const TEMPORALITY_DELTA: i32 = 1;

#[derive(Clone, PartialEq, prost::Message)]
pub struct Sum {
    #[prost(message, repeated, tag = "1")]
    pub data_points: Vec<NumberDataPoint>,
    #[prost(int32, tag = "2")]
    pub aggregation_temporality: i32,
    #[prost(bool, tag = "3")]
    pub is_monotonic: bool,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct NumberDataPoint {
    #[prost(message, repeated, tag = "7")]
    pub attributes: Vec<KeyValue>,
    #[prost(fixed64, tag = "3")]
    pub time_unix_nano: u64,
    #[prost(oneof = "Number", tags = "4, 6")]
    pub value: Option<Number>,
}

#[derive(Clone, Copy, PartialEq, prost::Oneof)]
pub enum Number {
    #[prost(double, tag = "4")]
    AsDouble(f64),
    #[prost(sfixed64, tag = "6")]
    AsInt(i64),
}

impl Number {
    pub fn as_f64(self) -> f64 {
        match self {
            Number::AsDouble(d) => d,
            Number::AsInt(i) => i as f64,
        }
    }
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct KeyValue {
    #[prost(string, tag = "1")]
    pub key: String,
    #[prost(message, optional, tag = "2")]
    pub value: Option<AnyValue>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct AnyValue {
    #[prost(oneof = "Any", tags = "1, 2, 3, 4")]
    pub value: Option<Any>,
}

#[derive(Clone, PartialEq, prost::Oneof)]
pub enum Any {
    #[prost(string, tag = "1")]
    String(String),
    #[prost(bool, tag = "2")]
    Bool(bool),
    #[prost(int64, tag = "3")]
    Int(i64),
    #[prost(double, tag = "4")]
    Double(f64),
}

impl KeyValue {
    /// The attribute as a label value (arrays, maps and bytes are not label material).
    pub fn text(&self) -> Option<String> {
        match self.value.as_ref()?.value.as_ref()? {
            Any::String(s) => Some(s.clone()),
            Any::Bool(b) => Some(b.to_string()),
            Any::Int(i) => Some(i.to_string()),
            Any::Double(d) => Some(d.to_string()),
        }
    }
}

/// How a data point updates its series.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The latest value (gauges, cumulative non-monotonic sums).
    Gauge,
    /// A running total (monotonic sums; a delta point adds to it).
    Counter,
}

/// One decoded point: metric name, its attributes (resource's, then the point's), kind,
/// value and whether the value is a delta.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    pub name: String,
    pub attributes: Vec<(String, String)>,
    pub kind: Kind,
    pub value: f64,
    pub delta: bool,
}

/// Decodes a (decompressed) MetricsData payload into its points.
pub fn decode(payload: &[u8]) -> Result<Vec<Point>, prost::DecodeError> {
    use prost::Message;
    let data = MetricsData::decode(payload)?;
    let mut out = Vec::new();
    for rm in data.resource_metrics {
        let resource: Vec<(String, String)> =
            rm.resource.iter().flat_map(|r| &r.attributes).filter_map(|kv| Some((kv.key.clone(), kv.text()?))).collect();
        for metric in rm.scope_metrics.into_iter().flat_map(|s| s.metrics) {
            let (points, kind, delta) = match metric.data {
                Some(Data::Gauge(g)) => (g.data_points, Kind::Gauge, false),
                Some(Data::Sum(s)) => {
                    let kind = if s.is_monotonic { Kind::Counter } else { Kind::Gauge };
                    (s.data_points, kind, s.aggregation_temporality == TEMPORALITY_DELTA)
                }
                None => continue,
            };
            for p in points {
                let Some(v) = p.value else { continue };
                let mut attributes = resource.clone();
                attributes.extend(p.attributes.iter().filter_map(|kv| Some((kv.key.clone(), kv.text()?))));
                out.push(Point { name: metric.name.clone(), attributes, kind, value: v.as_f64(), delta });
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
pub(crate) fn sample(points: &[(&str, bool, f64)]) -> Vec<u8> {
    use prost::Message;
    let metrics = points
        .iter()
        .map(|(name, counter, v)| {
            let dp = NumberDataPoint {
                attributes: vec![KeyValue { key: "node.id".into(), value: Some(AnyValue { value: Some(Any::String("1".into())) }) }],
                time_unix_nano: 1,
                value: Some(Number::AsDouble(*v)),
            };
            let data = if *counter {
                Data::Sum(Sum { data_points: vec![dp], aggregation_temporality: TEMPORALITY_DELTA, is_monotonic: true })
            } else {
                Data::Gauge(Gauge { data_points: vec![dp] })
            };
            Metric { name: name.to_string(), description: String::new(), data: Some(data) }
        })
        .collect();
    MetricsData { resource_metrics: vec![ResourceMetrics { resource: None, scope_metrics: vec![ScopeMetrics { metrics }] }] }
        .encode_to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gauges_and_sums_decode_with_their_attributes() {
        let points = decode(&sample(&[("org.apache.kafka.producer.record.queue.time.avg", false, 2.5), ("x.total", true, 3.0)])).unwrap();
        assert_eq!(points.len(), 2);
        assert_eq!(points[0].kind, Kind::Gauge);
        assert_eq!(points[0].value, 2.5);
        assert_eq!(points[0].attributes, vec![("node.id".to_string(), "1".to_string())]);
        assert_eq!((points[1].kind, points[1].delta), (Kind::Counter, true));
    }

    #[test]
    fn random_and_mutated_payloads_never_panic() {
        let good = sample(&[("a.b", false, 1.0), ("c.total", true, 2.0)]);
        for i in 0..5000u32 {
            let mut bytes = if i % 2 == 0 { good.clone() } else { (0..(i % 97)).map(|_| rand::random::<u8>()).collect() };
            if i % 2 == 0 {
                for _ in 0..(1 + i % 4) {
                    let at = rand::random::<u32>() as usize % bytes.len();
                    bytes[at] = rand::random();
                }
            }
            let _ = decode(&bytes);
        }
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(decode(&[0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]).is_err());
        assert!(decode(&[0x0a, 0x02, 0x12]).is_err());
        assert_eq!(decode(&[]).unwrap(), vec![]);
    }
}
