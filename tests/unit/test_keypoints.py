from rag.practice.keypoints import CODE_WEIGHT, LEAD_WEIGHT, key_points, readable

NOTE = """LoRA 冻结原权重 (Low-Rank Adaptation, LoRA)，只训练旁路（Hu 等，2021）。

$$
W = W_0 + \\frac{\\alpha}{r} B A
$$

- **初始化**：$B = 0$，$A$ 随机
  - 训练开始时输出不变
- **部署**：可合并回 $W_0$

| 方案 | 优点 |
|---|---|
| Pre-LN | 稳定 |

```python
model = get_peft_model(model, config)
```

相关：[Q078] [Q079]"""


def test_points_follow_the_note_structure() -> None:
    points = key_points(NOTE)
    assert [p.kind for p in points] == ["text", "formula", "text", "text", "row", "code"]
    assert points[0].lead and not points[2].lead
    assert points[2].title == "初始化" and "训练开始时输出不变" in points[2].text, "a sub-bullet belongs to its bullet"
    assert points[4].text == "Pre-LN：优点: 稳定" and points[4].title == "Pre-LN"
    assert points[5].text == "model = get_peft_model(model, config)"
    assert not any("Q078" in p.text for p in points), "the 相关 line is not a point"
    assert (points[0].weight, points[2].weight, points[5].weight) == (LEAD_WEIGHT, 1.0, CODE_WEIGHT)


def test_asides_are_kept_apart_from_the_core() -> None:
    lead = key_points(NOTE)[0]
    assert lead.core == "LoRA 冻结原权重，只训练旁路。"
    assert "Low-Rank Adaptation" in lead.asides and "2021" in lead.asides
    # a function call or a formula's parentheses are not an aside
    assert "min(d,k)" in key_points("- 秩 $r \\ll \\min(d,k)$，参数 r(d+k)")[0].core


def test_readable_formulas() -> None:
    assert readable("$W = W_0 + \\frac{\\alpha}{r} B A$") == "W = W_0 + alpha/r B A"
    assert readable("$\\mathrm{LN}(x+F(x))$") == "LN(x+F(x))"
