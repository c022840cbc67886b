import Core
import Testing

@Test func transposeRoundTrips() {
  let t = Tensor(shape: [3, 5], scalars: (0..<15).map(Float.init))
  #expect(t.transposed().shape == [5, 3])
  #expect(t.transposed()[1].scalars == [1, 6, 11])
  #expect(t.transposed().transposed() == t)
}
