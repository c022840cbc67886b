import Core
import Testing

/// `[2, 3, 2]` holding 0 ..< 12.
private let cube = Tensor(shape: [2, 3, 2], scalars: (0..<12).map(Float.init))

@Test func transposeRoundTrips() {
  let t = Tensor(shape: [3, 5], scalars: (0..<15).map(Float.init))
  #expect(t.transposed().shape == [5, 3])
  #expect(t.transposed()[1].scalars == [1, 6, 11])
  #expect(t.transposed().transposed() == t)
}

@Test(arguments: [[1, 1], [1, 7], [7, 1], [31, 33], [64, 65], [100, 3]])
func transposeMovesEveryElement(shape: [Int]) {
  // Sizes around the 32-element blocking, and degenerate rows and columns.
  let t = randomTensor(shape, seed: 7)
  let u = t.transposed()
  #expect(u.shape == [shape[1], shape[0]])
  for i in 0..<shape[0] {
    for j in 0..<shape[1] { #expect(u.scalars[j * shape[0] + i] == t.scalars[i * shape[1] + j]) }
  }
}

@Test func rowsAndSubscriptSliceTheLeadingAxis() {
  #expect(cube.rowSize == 6)
  #expect(cube.rows(1..<2) == Tensor(shape: [1, 3, 2], scalars: (6..<12).map(Float.init)))
  #expect(cube.rows(0..<0).shape == [0, 3, 2])
  #expect(cube.rows(0..<2) == cube)
  #expect(cube[0] == Tensor(shape: [3, 2], scalars: [0, 1, 2, 3, 4, 5]))
  #expect(cube[1][2].scalars == [10, 11])
}

@Test func withRowReadsInPlace() {
  let sum = cube.withRow(1) { $0.reduce(0, +) }
  #expect(sum == 6 + 7 + 8 + 9 + 10 + 11)
  #expect(cube.withRow(0) { Array($0) } == [0, 1, 2, 3, 4, 5])
  let vector = Tensor(shape: [3], scalars: [4, 5, 6])
  #expect(vector.withRow(2) { Array($0) } == [6])
}

@Test func stackAddsALeadingAxis() {
  let a = Tensor(shape: [2], scalars: [1, 2])
  let b = Tensor(shape: [2], scalars: [3, 4])
  #expect(Tensor.stack([a, b]) == Tensor(shape: [2, 2], scalars: [1, 2, 3, 4]))
  #expect(Tensor.stack([cube]).shape == [1, 2, 3, 2])
  #expect(Tensor.stack([cube[0], cube[1]]) == cube)
}

@Test func concatenateJoinsTheLeadingAxis() {
  #expect(Tensor.concatenate([cube.rows(0..<1), cube.rows(1..<2)]) == cube)
  let joined = Tensor.concatenate([cube, cube.rows(0..<0), cube.rows(1..<2)])
  #expect(joined.shape == [3, 3, 2])
  #expect(joined.scalars == cube.scalars + Array(cube.scalars[6...]))
}

@Test func reshapedAndFilledTensors() {
  #expect(cube.reshaped([4, 3]).shape == [4, 3])
  #expect(cube.reshaped([12]).scalars == cube.scalars)
  let zeros = Tensor(repeating: 0.5, shape: [2, 0, 3])
  #expect(zeros.count == 0 && zeros.rank == 3)
  #expect(Tensor(repeating: 2, shape: [2, 2]).scalars == [2, 2, 2, 2])
  #expect(Tensor(shape: [], scalars: [7]).count == 1)
}

@Test func descriptionShowsShapeAndLeadingValues() {
  #expect(cube.description == "Tensor([2, 3, 2], [0, 1, 2, 3, 4, 5, ...])")
  #expect(Tensor(shape: [2], scalars: [0.5, -1]).description == "Tensor([2], [0.5, -1])")
}
