// A weight-stationary PE array as docs/hardware.md specifies it ("The PE and
// the dataflow"): R x C PEs, the input skew chains (row r has r stages,
// stage 0 takes the feed) and the output de-skew chains (column c has
// C-1-c stages, stage 0 takes the bottom PE's psum from before the edge).
// Synthesizable Verilog-2005. Register arrays are flat, indexed as the
// register map indexes them (PE r*C+c; skew r(r-1)/2+s; de-skew column by
// column, stage by stage), so that a trace or a fault names them the same way.
//
// Saboteur port: when flip_en is set at a rising edge, register flip_index of
// kind flip_kind takes its new value XOR flip_mask at that edge, i.e. holds
// the flipped value "after edge e" as isimdl's fault sites define it.
// flip_kind: 0 pe_a, 1 pe_psum, 2 pe_w0, 3 pe_w1, 4 pe_d, 5 pe_propagate,
// 6 pe_valid, 7 skew (bits 0-7 a, 8 valid, 9 propagate), 8 deskew.
`timescale 1ns / 1ps
module pe_array #(
    parameter R = 4,
    parameter C = 4
) (
    input wire clk,
    input wire [8*R-1:0] feed_a,  // row r: bits [8r+7:8r]
    input wire [R-1:0] feed_valid,
    input wire feed_propagate,
    input wire [8*C-1:0] feed_d,  // column c: bits [8c+7:8c]
    input wire latch,
    input wire latch_select,
    input wire flip_en,
    input wire [3:0] flip_kind,
    input wire [31:0] flip_index,
    input wire [31:0] flip_mask,
    // The de-skewed bottom row: wires from the registers themselves (the
    // last de-skew stage of each column, PE(R-1, C-1)'s psum for the last
    // column); the accumulator adds what they hold at the next edge, so a
    // fault in them reaches it (docs/hardware.md, "Blocks").
    output wire [32*C-1:0] aligned
);
  localparam N = R * C;
  localparam SK = (R * (R - 1)) / 2 > 0 ? (R * (R - 1)) / 2 : 1;
  localparam DK = (C * (C - 1)) / 2 > 0 ? (C * (C - 1)) / 2 : 1;

  reg signed [7:0] a[0:N-1];
  reg signed [31:0] psum[0:N-1];
  reg signed [7:0] w0[0:N-1];
  reg signed [7:0] w1[0:N-1];
  reg signed [7:0] d[0:N-1];
  reg propagate[0:N-1];
  reg valid[0:N-1];
  reg signed [7:0] skew_a[0:SK-1];
  reg skew_valid[0:SK-1];
  reg skew_propagate[0:SK-1];
  reg signed [31:0] deskew[0:DK-1];

  // The flip mask for register `index` of kind `kind` at this edge.
  function automatic [31:0] flip(input en, input [3:0] sel_kind, input [31:0] sel_index, input [31:0] mask,
                                 input [3:0] kind, input [31:0] index);
    flip = (en && sel_kind == kind && sel_index == index) ? mask : 32'd0;
  endfunction

  // What enters PE(r, 0): row 0 straight from the feed, row r >= 1 from the
  // last of its r skew stages.
  wire signed [7:0] row_a[0:R-1];
  wire row_valid[0:R-1];
  wire row_propagate[0:R-1];
  genvar r, c, s;
  generate
    for (r = 0; r < R; r = r + 1) begin : rows
      if (r == 0) begin : feed
        assign row_a[r] = feed_a[7:0];
        assign row_valid[r] = feed_valid[0];
        assign row_propagate[r] = feed_propagate;
      end else begin : chain
        localparam integer FIRST = (r * (r - 1)) / 2;
        assign row_a[r] = skew_a[FIRST+r-1];
        assign row_valid[r] = skew_valid[FIRST+r-1];
        assign row_propagate[r] = skew_propagate[FIRST+r-1];
        for (s = 0; s < r; s = s + 1) begin : stages
          /* verilator lint_off UNUSEDSIGNAL */
          wire [31:0] m = flip(flip_en, flip_kind, flip_index, flip_mask, 4'd7, FIRST + s);  // bits 0-9 used
          /* verilator lint_on UNUSEDSIGNAL */
          always @(posedge clk) begin
            if (s == 0) begin
              skew_a[FIRST+s] <= feed_a[8*r+7:8*r] ^ m[7:0];
              skew_valid[FIRST+s] <= feed_valid[r] ^ m[8];
              skew_propagate[FIRST+s] <= feed_propagate ^ m[9];
            end else begin
              skew_a[FIRST+s] <= skew_a[FIRST+s-1] ^ m[7:0];
              skew_valid[FIRST+s] <= skew_valid[FIRST+s-1] ^ m[8];
              skew_propagate[FIRST+s] <= skew_propagate[FIRST+s-1] ^ m[9];
            end
          end
        end
      end
      for (c = 0; c < C; c = c + 1) begin : cols
        localparam integer I = r * C + c;
        // Inputs from the left (or the skew) and from above (or the feed).
        wire signed [7:0] a_in = c == 0 ? row_a[r] : a[I-1];
        wire valid_in = c == 0 ? row_valid[r] : valid[I-1];
        wire propagate_in = c == 0 ? row_propagate[r] : propagate[I-1];
        wire signed [31:0] psum_in = r == 0 ? 32'sd0 : psum[I-C];
        wire signed [7:0] d_in = r == 0 ? feed_d[8*c+7:8*c] : d[I-C];
        wire signed [7:0] w = propagate_in ? w1[I] : w0[I];
        wire signed [31:0] product = a_in * w;
        wire signed [31:0] psum_next = valid_in ? psum_in + product : psum_in;
        wire [7:0] w0_next = (latch && !latch_select) ? d_in : w0[I];
        wire [7:0] w1_next = (latch && latch_select) ? d_in : w1[I];
        // The saboteur's mask is 32 bits for every register: narrower
        // registers use its low bits.
        /* verilator lint_off UNUSEDSIGNAL */
        wire [31:0] m_a = flip(flip_en, flip_kind, flip_index, flip_mask, 4'd0, I);
        wire [31:0] m_psum = flip(flip_en, flip_kind, flip_index, flip_mask, 4'd1, I);
        wire [31:0] m_w0 = flip(flip_en, flip_kind, flip_index, flip_mask, 4'd2, I);
        wire [31:0] m_w1 = flip(flip_en, flip_kind, flip_index, flip_mask, 4'd3, I);
        wire [31:0] m_d = flip(flip_en, flip_kind, flip_index, flip_mask, 4'd4, I);
        wire [31:0] m_propagate = flip(flip_en, flip_kind, flip_index, flip_mask, 4'd5, I);
        wire [31:0] m_valid = flip(flip_en, flip_kind, flip_index, flip_mask, 4'd6, I);
        /* verilator lint_on UNUSEDSIGNAL */
        always @(posedge clk) begin
          a[I] <= a_in ^ m_a[7:0];
          psum[I] <= psum_next ^ m_psum;
          w0[I] <= w0_next ^ m_w0[7:0];
          w1[I] <= w1_next ^ m_w1[7:0];
          d[I] <= d_in ^ m_d[7:0];
          propagate[I] <= propagate_in ^ m_propagate[0];
          valid[I] <= valid_in ^ m_valid[0];
        end
      end
    end
    for (c = 0; c < C; c = c + 1) begin : deskews
      localparam integer FIRST = c * (C - 1) - (c * (c - 1)) / 2;
      localparam integer STAGES = C - 1 - c;
      for (s = 0; s < STAGES; s = s + 1) begin : stages
        wire [31:0] m = flip(flip_en, flip_kind, flip_index, flip_mask, 4'd8, FIRST + s);
        always @(posedge clk)
          if (s == 0) deskew[FIRST+s] <= psum[(R-1)*C+c] ^ m;
          else deskew[FIRST+s] <= deskew[FIRST+s-1] ^ m;
      end
      if (STAGES == 0) begin : direct
        assign aligned[32*c+31:32*c] = psum[(R-1)*C+c];
      end else begin : staged
        assign aligned[32*c+31:32*c] = deskew[FIRST+STAGES-1];
      end
    end
  endgenerate

  // Power-on state: all registers zero (the model resets them before a layer).
  integer i;
  initial begin
    for (i = 0; i < N; i = i + 1) begin
      a[i] = 0; psum[i] = 0; w0[i] = 0; w1[i] = 0; d[i] = 0; propagate[i] = 0; valid[i] = 0;
    end
    for (i = 0; i < SK; i = i + 1) begin
      skew_a[i] = 0; skew_valid[i] = 0; skew_propagate[i] = 0;
    end
    for (i = 0; i < DK; i = i + 1) deskew[i] = 0;
  end
endmodule
